// How a row or elementwise kernel stores its activations, included after its F16 and VEC4
// choices (`enable f16` already given with F16): one access moves a unit SV of W columns;
// unit_in / unit_out convert a unit to and from the f32 arithmetic FV.
//  - f32: vec4f (VEC4) or f32.
//  - f16 with VEC4: four halves as two 32-bit words (vec2u; halves_in / halves_out, also for
//    kernels whose input and output storage differ). On CPU adapters every component of
//    every access is a separate access per invocation, a 16-bit one as costly as a 32-bit
//    one: two accesses instead of four. The conversions are vec4<f16>'s (bitcasts of the
//    same bits, element 2i in the low half of word i), so results are the same bits.
//  - f16 without VEC4: f16.
//#if F16
fn halves_in(w: vec2u) -> vec4f { return vec4f(vec4<f16>(bitcast<vec2<f16>>(w.x), bitcast<vec2<f16>>(w.y))); }
fn halves_out(v: vec4f) -> vec2u { let h = vec4<f16>(v); return vec2u(bitcast<u32>(h.xy), bitcast<u32>(h.zw)); }
//#endif
//#if VEC4
alias FV = vec4f;
const W: u32 = 4u;
fn hsum(v: FV) -> f32 { return (v.x + v.y) + (v.z + v.w); }
//#if F16
alias SV = vec2u;
fn unit_in(w: SV) -> FV { return halves_in(w); }
fn unit_out(v: FV) -> SV { return halves_out(v); }
//#else
alias SV = vec4f;
fn unit_in(w: SV) -> FV { return w; }
fn unit_out(v: FV) -> SV { return v; }
//#endif
//#else
alias FV = f32;
const W: u32 = 1u;
fn hsum(v: FV) -> f32 { return v; }
//#if F16
alias SV = f16;
//#else
alias SV = f32;
//#endif
fn unit_in(w: SV) -> FV { return f32(w); }
fn unit_out(v: FV) -> SV { return SV(v); }
//#endif

// Kernels whose input and output storage differ (the f32 → f16 cast, gathers into an f32
// head): IN_F16 stores the input as f16, OUT_F16 the output; TIN / TOUT are their units,
// unit_of_in / unit_to_out the conversions, with the same packing as above.
//#if VEC4
//#if IN_F16
alias TIN = vec2u;
fn unit_of_in(w: TIN) -> FV { return halves_in(w); }
//#else
alias TIN = vec4f;
fn unit_of_in(w: TIN) -> FV { return w; }
//#endif
//#if OUT_F16
alias TOUT = vec2u;
fn unit_to_out(v: FV) -> TOUT { return halves_out(v); }
//#else
alias TOUT = vec4f;
fn unit_to_out(v: FV) -> TOUT { return v; }
//#endif
//#else
//#if IN_F16
alias TIN = f16;
//#else
alias TIN = f32;
//#endif
//#if OUT_F16
alias TOUT = f16;
//#else
alias TOUT = f32;
//#endif
fn unit_of_in(w: TIN) -> FV { return f32(w); }
fn unit_to_out(v: FV) -> TOUT { return TOUT(v); }
//#endif

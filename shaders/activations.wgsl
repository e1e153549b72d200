// Activation functions shared by kernels (GELU in the FFN matmul epilogue and in the
// standalone GELU kernel must agree). Included with `//#include activations.wgsl`.
// Reference: src/kernels/ref/activations.ts.

// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): WGSL has no erf builtin.
fn act_erf(x: f32) -> f32 {
  let ax = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * ax);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-ax * ax);
  return select(-y, y, x >= 0.0);
}

// GELU, erf form (BERT): x·Φ(x).
fn gelu_erf(x: f32) -> f32 {
  return 0.5 * x * (1.0 + act_erf(x * 0.7071067811865476));
}

// d/dx of x·Φ(x) = Φ(x) + x·φ(x).
fn gelu_erf_grad(x: f32) -> f32 {
  let cdf = 0.5 * (1.0 + act_erf(x * 0.7071067811865476));
  let pdf = 0.3989422804014327 * exp(-0.5 * x * x);
  return cdf + x * pdf;
}

// GELU, tanh approximation (GPT-2 / "gelu_new").
fn gelu_tanh(x: f32) -> f32 {
  let u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
  return 0.5 * x * (1.0 + tanh_safe(u));
}

fn gelu_tanh_grad(x: f32) -> f32 {
  let u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
  let t = tanh_safe(u);
  let du = 0.7978845608028654 * (1.0 + 3.0 * 0.044715 * x * x);
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du;
}

// tanh that stays finite for large |u| on every backend (some lower tanh through exp).
fn tanh_safe(u: f32) -> f32 {
  let c = clamp(u, -15.0, 15.0);
  let e = exp(2.0 * c);
  return (e - 1.0) / (e + 1.0);
}

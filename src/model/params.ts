// Parameters on the GPU: one tensor per named parameter and one for its gradient,
// initialised on the GPU from the counter RNG (so a seed fully determines the model).
//
// The tensors are views into a few arenas (Runtime.arena): parameters with weight decay in
// one set of arenas, without in another, each arena as large as one binding may be. So the
// optimizer clips and updates each arena in one dispatch (a handful per step instead of two
// per tensor: on CPU adapters every dispatch costs ~0.2 ms, and a model has ~200 tensors),
// and zeroing the gradients is one clear per arena. Kernels bind the views like any tensor.
import type { Runtime } from '../gpu/runtime.js';
import { arenaBytes, numel, type Tensor } from '../gpu/tensor.js';
import { randomNormal } from '../kernels/random.js';
import type { ParamSpec } from './config.js';

/** Parameters of one weight-decay class laid out in one buffer, with their gradients in another of the same layout. */
export interface ParamArena {
  /** AdamW's weight decay applies to every parameter in it. */
  decay: boolean;
  /** The whole buffers as flat f32 tensors (gaps between parameters are zero). */
  values: Tensor;
  grads: Tensor;
  /** The parameters it holds, in order. */
  names: string[];
}

export interface ModelParams {
  specs: ParamSpec[];
  values: Map<string, Tensor>;
  grads: Map<string, Tensor>;
  arenas: ParamArena[];
}

/** Specs grouped for arenas: by decay class (in spec order), each group within `maxBytes` (padding included). */
export function arenaGroups(specs: readonly ParamSpec[], maxBytes: number, align: number): { decay: boolean; specs: ParamSpec[] }[] {
  const groups: { decay: boolean; specs: ParamSpec[]; bytes: number }[] = [];
  for (const decay of [true, false]) {
    let g: { decay: boolean; specs: ParamSpec[]; bytes: number } | null = null;
    for (const s of specs.filter((x) => x.decay === decay)) {
      const bytes = arenaBytes(numel(s.shape), 'f32', align);
      if (bytes > maxBytes) throw new Error(`parameter '${s.name}' [${s.shape.join(', ')}] needs ${bytes} bytes, above this adapter's binding limit of ${maxBytes}`);
      if (!g || g.bytes + bytes > maxBytes) groups.push((g = { decay, specs: [], bytes: 0 }));
      g.specs.push(s);
      g.bytes += bytes;
    }
  }
  return groups.map(({ decay, specs }) => ({ decay, specs }));
}

export function allocParams(rt: Runtime, specs: ParamSpec[]): ModelParams {
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.name)) throw new Error(`parameter '${s.name}' is declared twice`);
    seen.add(s.name);
  }
  const values = new Map<string, Tensor>();
  const grads = new Map<string, Tensor>();
  const arenas: ParamArena[] = [];
  const maxBytes = Math.min(rt.limits.maxStorageBufferBindingSize, rt.limits.maxBufferSize);
  for (const [i, g] of arenaGroups(specs, maxBytes, rt.limits.minStorageBufferOffsetAlignment ?? 256).entries()) {
    const kind = g.decay ? 'decayed' : 'not decayed';
    const v = rt.arena(g.specs.map((s) => ({ shape: s.shape, label: s.name })), 'f32', `parameters ${i} (${kind})`);
    const d = rt.arena(g.specs.map((s) => ({ shape: s.shape, label: `grad ${s.name}` })), 'f32', `gradients ${i} (${kind})`);
    g.specs.forEach((s, j) => {
      values.set(s.name, v.views[j]);
      grads.set(s.name, d.views[j]);
    });
    arenas.push({ decay: g.decay, values: v.root, grads: d.root, names: g.specs.map((s) => s.name) });
  }
  return { specs, values, grads, arenas };
}

/** Free the parameters and their gradients (the arenas). */
export function releaseParams(rt: Runtime, p: ModelParams): void {
  for (const a of p.arenas) rt.release(a.values, a.grads);
}

export function param(p: ModelParams, name: string): Tensor {
  const t = p.values.get(name);
  if (!t) throw new Error(`model: no parameter named '${name}'`);
  return t;
}

export function grad(p: ModelParams, name: string): Tensor {
  const t = p.grads.get(name);
  if (!t) throw new Error(`model: no gradient for '${name}'`);
  return t;
}

/** BERT's initialisation: normal(0, std) weights, zero biases, unit LayerNorm gains. */
export async function initParams(rt: Runtime, p: ModelParams, seed: number): Promise<void> {
  const ops = [];
  for (let i = 0; i < p.specs.length; i++) {
    const s = p.specs[i];
    const t = param(p, s.name);
    if (s.init.kind === 'normal') ops.push(await randomNormal(rt, t, { seed, stream: 0x1000 + i }, 0, s.init.std));
    else rt.write(t, new Float32Array(t.size).fill(s.init.kind === 'ones' ? 1 : 0));
  }
  await rt.run(...ops);
}

/** Load values by name; every parameter must be given with the right size. */
export function loadParams(rt: Runtime, p: ModelParams, values: Map<string, Float32Array>, source = 'checkpoint'): void {
  const missing = p.specs.filter((s) => !values.has(s.name)).map((s) => s.name);
  if (missing.length) throw new Error(`${source}: missing parameters (${missing.length}): ${missing.join(', ')}`);
  for (const s of p.specs) {
    const v = values.get(s.name)!;
    const t = param(p, s.name);
    if (v.length !== t.size) throw new Error(`${source}: parameter '${s.name}' has ${v.length} values, expected ${t.size} for [${s.shape.join(', ')}]`);
    rt.write(t, v);
  }
}

export async function readParams(rt: Runtime, p: ModelParams, which: 'values' | 'grads' = 'values'): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const s of p.specs) out.set(s.name, (await rt.read(which === 'values' ? param(p, s.name) : grad(p, s.name))) as Float32Array);
  return out;
}

/** Record zeroing every gradient (at the start of an optimizer step): one clear per arena. */
export function recordZeroGrads(rt: Runtime, p: ModelParams): void {
  for (const a of p.arenas) rt.clear(a.grads);
}

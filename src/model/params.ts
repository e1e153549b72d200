// Parameters on the GPU: one tensor per named parameter and one for its gradient,
// initialised on the GPU from the counter RNG (so a seed fully determines the model).
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { randomNormal } from '../kernels/random.js';
import type { ParamSpec } from './config.js';

export interface ModelParams {
  specs: ParamSpec[];
  values: Map<string, Tensor>;
  grads: Map<string, Tensor>;
}

export function allocParams(rt: Runtime, specs: ParamSpec[]): ModelParams {
  const values = new Map<string, Tensor>();
  const grads = new Map<string, Tensor>();
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.name)) throw new Error(`parameter '${s.name}' is declared twice`);
    seen.add(s.name);
    values.set(s.name, rt.empty(s.shape, 'f32', s.name));
    grads.set(s.name, rt.zeros(s.shape, 'f32', `grad ${s.name}`));
  }
  return { specs, values, grads };
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

/** Record zeroing every gradient (at the start of an optimizer step). */
export function recordZeroGrads(rt: Runtime, p: ModelParams): void {
  for (const g of p.grads.values()) rt.clear(g);
}

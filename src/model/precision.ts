// Mixed precision (`--precision f16`): what the model needs of it. Activations and their
// gradients are f16 in every encoder (LayerNorm statistics and attention's log-sum-exp stay
// f32; every kernel accumulates in f32); the matmuls read f16 copies of the f32 master
// weights, cast at the start of each forward (so an evaluation after a load, or after any
// optimizer step, reads the current weights); embedding tables, biases, LayerNorm gains and
// every gradient of a parameter stay f32. The heads compute in f32 behind the hidden states'
// conversion and seed their gradients multiplied by the dynamic loss scale, which clipping
// undoes (src/kernels/clip.ts: DynamicLossScale).
import type { Runtime, Op } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { castToF16 } from '../kernels/elementwise.js';
import { param, type ModelParams } from './params.js';

export type Precision = 'f32' | 'f16';
export const PRECISIONS: readonly Precision[] = ['f32', 'f16'];

/** Given to a model built in mixed precision. */
export interface MixedPrecision {
  /** The dynamic loss scaler (f32 [4]; element 0 is the scale the heads' gradient seeds are multiplied by). */
  gradScale: Tensor;
}

/** Why this adapter cannot train in `precision`, or null when it can. */
export function precisionUnavailable(rt: Runtime, precision: Precision): string | null {
  if (precision === 'f16' && !rt.caps.f16) return `--precision f16 needs the adapter feature 'shader-f16', which this adapter (${rt.gpu.kind}, ${rt.gpu.adapter.description || rt.gpu.backend}) lacks; use --precision f32`;
  return null;
}

const halves = new WeakMap<ModelParams, Map<string, Tensor>>();

/**
 * The f16 copy of parameter `name` (made once per parameter set, shared by every encoder
 * over it) and the op that refreshes it from the f32 master.
 */
export async function halfParam(rt: Runtime, p: ModelParams, name: string): Promise<{ tensor: Tensor; cast: Op }> {
  return halfOf(rt, p, name, param(p, name));
}

/** The same for `master`, a view over parameters of `p` (a span: tensor.ts spanOf) known by `key`. */
export async function halfOf(rt: Runtime, p: ModelParams, key: string, master: Tensor): Promise<{ tensor: Tensor; cast: Op }> {
  let m = halves.get(p);
  if (!m) halves.set(p, (m = new Map()));
  let t = m.get(key);
  if (!t) m.set(key, (t = rt.empty(master.shape, 'f16', `${key} (f16)`)));
  return { tensor: t, cast: await castToF16(rt, master, t) };
}

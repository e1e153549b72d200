// Global-norm gradient clipping on the GPU, with no readback (shaders/clip.wgsl).
//
//   const clip = await clipGradNorm(rt, grads, 1.0);   // built once
//   rt.record(...clip.ops);                             // every step, after backward
//   // clip.state = [scale, norm, sumsq, nonfinite] (f32), read by adamw()
//
// One `sumsq` dispatch per gradient tensor (the trainer passes whole gradient arenas:
// src/model/params.ts; each writes per-workgroup partial sums into its
// own fixed slots), then one `finalize` dispatch summing every slot in a fixed order:
// deterministic, and any number of tensors despite the 8-storage-binding limit.
import type { Runtime, Op } from '../gpu/runtime.js';
import { packUniform } from '../gpu/runtime.js';
import { expectDType, shapeStr, type Tensor } from '../gpu/tensor.js';
import type { KernelSignature } from '../gpu/pipelines.js';
import { ceilDiv } from './grid.js';
import { registerVariants } from './registry.js';

const WG = 256;
/** Elements folded by one workgroup of `sumsq` (a tensor gets ceil(n / this) slots). */
export const CLIP_PER_GROUP = WG * 64;

const SIG: KernelSignature = { name: 'clip', bindings: ['read', 'rw', 'rw', 'uniform'] };
/** finalize with a dynamic loss scale (mixed precision): the scaler is a fifth binding. */
const SIG_DYNAMIC: KernelSignature = { name: 'clip.dynamic', bindings: ['read', 'rw', 'rw', 'uniform', 'rw'] };
const DYNAMIC_SPEC = { file: 'clip.wgsl', entry: 'finalize', defines: ['DYNAMIC'] };
registerVariants(
  { sig: SIG, spec: { file: 'clip.wgsl', entry: 'sumsq' } },
  { sig: SIG, spec: { file: 'clip.wgsl', entry: 'finalize' } },
  { sig: SIG_DYNAMIC, spec: DYNAMIC_SPEC },
);

/**
 * Mixed precision's dynamic loss scale, on the GPU: `scaler` is f32 [4] = [scale S, good steps
 * since the last overflow, overflowed steps in all, overflowed steps in a row]. The heads seed
 * their gradients multiplied by S (xent/bce `gradScale`); clipping unscales, and on an overflow
 * halves S (AdamW skips the step), after `growthInterval` good steps doubles it.
 */
export interface DynamicLossScale {
  scaler: Tensor;
  growthInterval: number;
}

/** PyTorch's GradScaler defaults: S₀ = 2¹⁶, doubled after 2000 good steps. */
export const LOSS_SCALE_DEFAULTS = { initial: 65536, growthInterval: 2000 } as const;

/** A scaler tensor starting at `initial`. */
export function createLossScaler(rt: Runtime, initial: number = LOSS_SCALE_DEFAULTS.initial): Tensor {
  if (!(initial > 0) || !Number.isFinite(initial)) throw new Error(`loss scale: the initial scale must be a positive finite number, got ${initial}`);
  return rt.upload(new Float32Array([initial, 0, 0, 0]), [4], 'f32', 'loss.scaler');
}

/** The scaler's values by name. */
export function lossScalerOf(v: ArrayLike<number>): { scale: number; goodSteps: number; skipped: number; overflowRun: number } {
  if (v.length < 4) throw new Error(`loss scaler: ${v.length} values, expected [scale, good steps, skipped, overflow run]`);
  return { scale: v[0], goodSteps: v[1], skipped: v[2], overflowRun: v[3] };
}

export interface ClipOps {
  ops: Op[];
  /** [scale, norm, sumsq, nonfinite] as f32: nonfinite is 1 when any gradient is Inf/NaN. */
  state: Tensor;
  partial: Tensor;
  release(): void;
}

/**
 * Ops computing the global L2 norm of `grads` and the clip scale
 * min(1, maxNorm / (norm + 1e-6)) into `state` (maxNorm ≤ 0 or Infinity: scale 1, norm still
 * computed). The state tensor is made here unless given. With `dynamic`, the gradients are
 * taken as multiplied by its loss scale: see DynamicLossScale.
 */
export async function clipGradNorm(rt: Runtime, grads: readonly Tensor[], maxNorm: number, state?: Tensor, dynamic?: DynamicLossScale): Promise<ClipOps> {
  const name = 'clip';
  if (grads.length === 0) throw new Error(`${name}: no gradient tensors given`);
  grads.forEach((g, i) => expectDType(name, `grads[${i}] ('${g.label}')`, g, 'f32'));
  if (Number.isNaN(maxNorm)) throw new Error(`${name}: maxNorm is NaN`);
  const st = state ?? rt.empty([4], 'f32', 'clip.state');
  expectDType(name, 'state', st, 'f32');
  if (st.size < 4) throw new Error(`${name}: state has shape ${shapeStr(st.shape)}, needs at least 4 elements`);
  const slots = grads.map((g) => Math.max(1, ceilDiv(g.size, CLIP_PER_GROUP)));
  const total = slots.reduce((a, b) => a + b, 0);
  const partial = rt.empty([total, 2], 'f32', 'clip.partial');
  const mn = Number.isFinite(maxNorm) ? maxNorm : 0;
  const ops: Op[] = [];
  let slot = 0;
  for (let i = 0; i < grads.length; i++) {
    const g = grads[i];
    const params = rt.uniform(packUniform([['u32', g.size], ['u32', slot], ['u32', CLIP_PER_GROUP], ['u32', total], ['f32', mn], ['u32', 0], ['u32', 0], ['u32', 0]]), `${name}.params`);
    ops.push(await rt.op(SIG, { file: 'clip.wgsl', entry: 'sumsq' }, [g, partial, st, params], [slots[i]], `${name}.sumsq[${g.label}]`));
    slot += slots[i];
  }
  if (dynamic) {
    expectDType(name, 'dynamic.scaler', dynamic.scaler, 'f32');
    if (dynamic.scaler.size < 4) throw new Error(`${name}: the loss scaler has shape ${shapeStr(dynamic.scaler.shape)}, needs 4 elements`);
    if (!Number.isInteger(dynamic.growthInterval) || dynamic.growthInterval < 1) throw new Error(`${name}: the loss scale's growth interval must be a positive integer, got ${dynamic.growthInterval}`);
  }
  const fin = rt.uniform(packUniform([['u32', 0], ['u32', 0], ['u32', 0], ['u32', total], ['f32', mn], ['u32', dynamic?.growthInterval ?? 0], ['u32', 0], ['u32', 0]]), `${name}.finalize.params`);
  ops.push(
    dynamic
      ? await rt.op(SIG_DYNAMIC, DYNAMIC_SPEC, [grads[0], partial, st, fin, dynamic.scaler], [1], `${name}.finalize`)
      : await rt.op(SIG, { file: 'clip.wgsl', entry: 'finalize' }, [grads[0], partial, st, fin], [1], `${name}.finalize`),
  );
  return { ops, state: st, partial, release: () => rt.release(partial) };
}

/** The clip state as named values. */
export function clipStateOf(state: ArrayLike<number>): { scale: number; norm: number; sumsq: number; nonfinite: boolean } {
  if (state.length < 4) throw new Error(`clip state: ${state.length} values, expected [scale, norm, sumsq, nonfinite]`);
  return { scale: state[0], norm: state[1], sumsq: state[2], nonfinite: state[3] !== 0 };
}

// Global-norm gradient clipping on the GPU, with no readback (shaders/clip.wgsl).
//
//   const clip = await clipGradNorm(rt, grads, 1.0);   // built once
//   rt.record(...clip.ops);                             // every step, after backward
//   // clip.state = [scale, norm, sumsq, nonfinite] (f32), read by adamw()
//
// One `sumsq` dispatch per gradient tensor (each writes per-workgroup partial sums into its
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
registerVariants(
  { sig: SIG, spec: { file: 'clip.wgsl', entry: 'sumsq' } },
  { sig: SIG, spec: { file: 'clip.wgsl', entry: 'finalize' } },
);

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
 * computed). The state tensor is made here unless given.
 */
export async function clipGradNorm(rt: Runtime, grads: readonly Tensor[], maxNorm: number, state?: Tensor): Promise<ClipOps> {
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
  const fin = rt.uniform(packUniform([['u32', 0], ['u32', 0], ['u32', 0], ['u32', total], ['f32', mn], ['u32', 0], ['u32', 0], ['u32', 0]]), `${name}.finalize.params`);
  ops.push(await rt.op(SIG, { file: 'clip.wgsl', entry: 'finalize' }, [grads[0], partial, st, fin], [1], `${name}.finalize`));
  return { ops, state: st, partial, release: () => rt.release(partial) };
}

/** The clip state as named values. */
export function clipStateOf(state: ArrayLike<number>): { scale: number; norm: number; sumsq: number; nonfinite: boolean } {
  if (state.length < 4) throw new Error(`clip state: ${state.length} values, expected [scale, norm, sumsq, nonfinite]`);
  return { scale: state[0], norm: state[1], sumsq: state[2], nonfinite: state[3] !== 0 };
}

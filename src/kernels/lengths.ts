// Sequence lengths of a padded batch, on the GPU (see shaders/sequence_lengths.wgsl).
import type { Runtime, Op } from '../gpu/runtime.js';
import { packUniform } from '../gpu/runtime.js';
import { expectDType, shapeStr, type Tensor } from '../gpu/tensor.js';
import type { KernelSignature } from '../gpu/pipelines.js';
import { ceilDiv } from './grid.js';
import { registerVariants } from './registry.js';

const WG = 64;
const SIG: KernelSignature = { name: 'sequence_lengths', bindings: ['read', 'rw', 'uniform'] };
registerVariants({ sig: SIG, spec: { file: 'sequence_lengths.wgsl', consts: { WG } } });

/** lengths[b] = 1 + index of the last id ≠ pad in row b of ids [B, T] (at least 1). */
export function sequenceLengths(rt: Runtime, ids: Tensor, lengths: Tensor, pad: number): Promise<Op> {
  const name = 'sequence_lengths';
  expectDType(name, 'ids', ids, 'u32');
  expectDType(name, 'lengths', lengths, 'u32', 'i32');
  if (ids.shape.length !== 2) throw new Error(`${name}: ids must be [batch, seq], got ${shapeStr(ids.shape)}`);
  const [B, T] = ids.shape;
  if (lengths.size !== B) throw new Error(`${name}: lengths ${shapeStr(lengths.shape)} must have one entry per sequence of ids ${shapeStr(ids.shape)}`);
  const params = rt.uniform(packUniform([['u32', B], ['u32', T], ['u32', pad >>> 0], ['u32', 0]]), `${name}.params`);
  return rt.op(SIG, { file: 'sequence_lengths.wgsl', consts: { WG } }, [ids, lengths, params], [ceilDiv(B, WG)], name);
}

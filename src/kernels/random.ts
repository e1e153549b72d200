// Random fills from the counter RNG (Philox4x32-10): raw bits, uniform, normal.
// Element i of a fill draws counter (i, offset, stream, 0) under key (seed, 0).
import type { Runtime, Op } from '../gpu/runtime.js';
import { packUniform } from '../gpu/runtime.js';
import { expectDType, type Tensor } from '../gpu/tensor.js';
import type { KernelSignature } from '../gpu/pipelines.js';
import { grid1d } from './grid.js';
import { registerVariants } from './registry.js';

const SIG: KernelSignature = { name: 'random', bindings: ['rw', 'uniform'] };
const KINDS = { bits: 0, uniform: 1, normal: 2 } as const;
registerVariants(...Object.values(KINDS).map((OP) => ({ sig: SIG, spec: { file: 'random.wgsl', consts: { OP } } })));

export interface RandomStream {
  seed: number;
  stream?: number;
  offset?: number;
}

function build(rt: Runtime, kind: keyof typeof KINDS, out: Tensor, s: RandomStream, a: number, b: number): Promise<Op> {
  const name = `random.${kind}`;
  expectDType(name, 'out', out, kind === 'bits' ? 'u32' : 'f32');
  const [gx, gy] = grid1d(out.size, 256, rt.limits.maxComputeWorkgroupsPerDimension);
  const params = rt.uniform(
    packUniform([['u32', out.size], ['u32', gx], ['u32', s.seed >>> 0], ['u32', (s.stream ?? 0) >>> 0], ['u32', (s.offset ?? 0) >>> 0], ['f32', a], ['f32', b], ['u32', 0]]),
    `${name}.params`,
  );
  return rt.op(SIG, { file: 'random.wgsl', consts: { OP: KINDS[kind] } }, [out, params], [gx, gy], name);
}

export const randomBits = (rt: Runtime, out: Tensor, s: RandomStream) => build(rt, 'bits', out, s, 0, 0);
export const randomUniform = (rt: Runtime, out: Tensor, s: RandomStream, lo = 0, hi = 1) => build(rt, 'uniform', out, s, lo, hi);
export const randomNormal = (rt: Runtime, out: Tensor, s: RandomStream, mean = 0, std = 1) => build(rt, 'normal', out, s, mean, std);

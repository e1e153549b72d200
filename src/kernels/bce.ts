// Binary cross-entropy with logits for detection heads (shaders/bce.wgsl).
//
//   const b = await bce(rt, { logits, target, weight, dlogits }, { lambda: 50 });
//   rt.record(...b.forward, ...b.backward);  // b.out = [L, Σ loss_i, Σ w, #correct, #(w>0), λ/Σw, 0, 0]
//
// logits, target, weight: [N] f32 (the detection head's output, 1 = replaced / 0 = original,
// and per-position weights: 0 for special and padding positions). L = λ·Σ w·bce / Σ w.
// dlogits [N] f32 gets λ·w·(σ(z) − y)/Σw, written (or added, `accumulate: true`).
import type { Runtime, Op } from '../gpu/runtime.js';
import { packUniform } from '../gpu/runtime.js';
import { expectDType, shapeStr, type Tensor } from '../gpu/tensor.js';
import type { KernelSignature } from '../gpu/pipelines.js';
import { ceilDiv, grid1d } from './grid.js';
import { registerVariants } from './registry.js';

const WG = 256;
const PER_GROUP = WG * 16;
const SIG: KernelSignature = { name: 'bce', bindings: ['read', 'read', 'read', 'rw', 'rw', 'rw', 'uniform'] };
const spec = (entry: string, accumulate = false) => ({ file: 'bce.wgsl', entry, consts: { WG, ACCUMULATE: accumulate } });
/** The grad entry multiplied by a dynamic loss scale (mixed precision): one more binding. */
const SIG_SCALED: KernelSignature = { name: 'bce.grad.scaled', bindings: [...SIG.bindings, 'read'] };
const scaledSpec = (accumulate: boolean) => ({ ...spec('grad', accumulate), defines: ['SCALED'] });
registerVariants(...[spec('partial_sums'), spec('finalize'), spec('grad'), spec('grad', true)].map((s) => ({ sig: SIG, spec: s })), ...[false, true].map((a) => ({ sig: SIG_SCALED, spec: scaledSpec(a) })));

export interface BceTensors {
  logits: Tensor;
  target: Tensor;
  weight: Tensor;
  /** Needed for the backward ops; omit for a forward-only (evaluation) build. */
  dlogits?: Tensor;
}

export interface BceOps {
  forward: Op[];
  backward: Op[];
  /** [L, Σ loss_i, Σ w_i, #correct, #(w>0), λ/Σw, 0, 0] f32 */
  out: Tensor;
  release(): void;
}

export interface BceOptions {
  lambda?: number;
  accumulate?: boolean;
  /** f32 [≥ 1]: a dynamic loss scale (mixed precision) whose element 0 multiplies dlogits; the loss itself is not scaled. */
  gradScale?: Tensor;
}

export async function bce(rt: Runtime, t: BceTensors, opts: BceOptions = {}): Promise<BceOps> {
  const name = 'bce';
  const n = t.logits.size;
  for (const [k, x] of Object.entries(t)) {
    if (!x) continue;
    expectDType(name, k, x, 'f32');
    if (x.size !== n) throw new Error(`${name}: ${k} has shape ${shapeStr(x.shape)}, logits ${shapeStr(t.logits.shape)} (one value per position expected)`);
  }
  if (n === 0) throw new Error(`${name}: no positions (logits ${shapeStr(t.logits.shape)})`);
  const lambda = opts.lambda ?? 1;
  const groups = ceilDiv(n, PER_GROUP);
  const partial = rt.empty([groups, 4], 'f32', 'bce.partial');
  const out = rt.empty([8], 'f32', 'bce.out');
  const [gx, gy] = grid1d(n, WG, rt.limits.maxComputeWorkgroupsPerDimension);
  const params = rt.uniform(packUniform([['u32', n], ['u32', PER_GROUP], ['u32', groups], ['u32', gx], ['f32', lambda], ['u32', 0], ['u32', 0], ['u32', 0]]), `${name}.params`);
  const dl = t.dlogits ?? rt.empty([1], 'f32', 'bce.unused');
  const b = [t.logits, t.target, t.weight, partial, out, dl, params];
  const forward = [await rt.op(SIG, spec('partial_sums'), b, [groups], `${name}.partial`), await rt.op(SIG, spec('finalize'), b, [1], `${name}.finalize`)];
  const acc = opts.accumulate ?? false;
  if (opts.gradScale) expectDType(name, 'gradScale', opts.gradScale, 'f32');
  const grad = () => (opts.gradScale ? rt.op(SIG_SCALED, scaledSpec(acc), [...b, opts.gradScale], [gx, gy], `${name}.grad`) : rt.op(SIG, spec('grad', acc), b, [gx, gy], `${name}.grad`));
  const backward = t.dlogits ? [await grad()] : [];
  return { forward, backward, out, release: () => rt.release(partial, out, ...(t.dlogits ? [] : [dl])) };
}

/** bce's out as named totals: the loss (λ · weighted mean), #correct and #counted positions. */
export function bceTotals(out: ArrayLike<number>): { loss: number; correct: number; count: number } {
  if (out.length < 8) throw new Error(`bce out: ${out.length} values, expected 8`);
  return { loss: out[0], correct: out[3], count: out[4] };
}

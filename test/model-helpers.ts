// Shared set-up of the GPU-model-vs-reference tests: a small config (hidden 64 with 2 heads:
// head dim 32 is the attention kernel's minimum; odd FFN width), a padded batch with two
// token types, random parameters, targets, and the gradient comparison.
import { expect } from 'vitest';
import { getRuntime, expectClose, rng } from './harness.js';
import type { EncoderConfig, ParamSpec } from '../src/model/config.js';
import { allocParams, loadParams } from '../src/model/params.js';
import type { Batch, Params } from '../src/model/reference.js';
import type { Runtime } from '../src/gpu/runtime.js';

export { getRuntime };

const NONE = 0xffffffff;

export const CFG: EncoderConfig = {
  vocabSize: 41, hiddenSize: 64, numLayers: 2, numHeads: 2, intermediateSize: 80, maxPositions: 16, typeVocabSize: 2,
  layerNormEps: 1e-5, hiddenDropout: 0, attentionDropout: 0, hiddenAct: 'gelu', preLayerNorm: false, initializerRange: 0.02, padTokenId: 0,
};
export const B = 2, T = 7;
export const LENGTHS = [7, 4];
const IDS = [2, 7, 9, 11, 3, 40, 5, 2, 5, 3, 17, 0, 0, 0];
const TYPES = [0, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0];

/** Random values, larger than BERT's init and LayerNorm gains away from 1, so every path matters. */
export function randomValues(specs: ParamSpec[], seed: number): Map<string, Float32Array> {
  const r = rng(seed);
  const u = (a: number) => (r() - 0.5) * 2 * a;
  return new Map(specs.map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    return [s.name, Float32Array.from({ length: n }, () => (s.init.kind === 'ones' ? 1 + u(0.3) : s.init.kind === 'zeros' ? u(0.1) : u(0.15)))];
  }));
}

/**
 * GPU gradients vs the float64 reference: f32 accumulation through two layers. The scale
 * has a floor at 1 % of the largest gradient: some gradients are zero in exact arithmetic
 * (the key bias: softmax ignores a per-row shift) and only f32 rounding remains there.
 */
export function compareGrads(gpu: Map<string, Float32Array>, ref: Params) {
  let globalMax = 0;
  for (const g of ref.values()) for (const v of g) globalMax = Math.max(globalMax, Math.abs(v));
  for (const [name, g] of ref) {
    let scale = 0.01 * globalMax;
    for (const v of g) scale = Math.max(scale, Math.abs(v));
    expectClose(gpu.get(name)!, g, { atol: 1e-6 + 2e-4 * scale, rtol: 2e-3 }, `grad ${name}`);
  }
}

/** Parameters (random, seeded) on the GPU and in float64, and the batch on both sides. */
export function setup(rt: Runtime, specs: ParamSpec[], seed: number) {
  const params = allocParams(rt, specs);
  const values = randomValues(specs, seed);
  loadParams(rt, params, values, 'test');
  const inputs = { ids: rt.upload(Uint32Array.from(IDS), [B, T], 'u32'), types: rt.upload(Uint32Array.from(TYPES), [B, T], 'u32'), lengths: rt.upload(Uint32Array.from(LENGTHS), [B], 'u32') };
  const batch: Batch = { B, T, ids: Int32Array.from(IDS), types: Int32Array.from(TYPES), lengths: Int32Array.from(LENGTHS) };
  const p64: Params = new Map([...values].map(([k, v]) => [k, Float64Array.from(v)]));
  return { params, inputs, batch, p64 };
}

/** MLM targets in the selection's layout: list and labels padded with NONE to `cap`, meta [count, …]. */
export function mlmTargets(rt: Runtime, positions: number[], labels: number[], cap = 8) {
  const pad = (xs: number[]) => Uint32Array.from({ length: cap }, (_, i) => (i < xs.length ? xs[i] : NONE));
  return { cap, list: rt.upload(pad(positions), [cap], 'u32'), labels: rt.upload(pad(labels), [cap], 'u32'), meta: rt.upload([positions.length, positions.length, 0, 0], [4], 'u32') };
}

/** Detection targets: every third position "replaced", weights on the valid positions. */
export function detectionTargets() {
  const N = B * T;
  const target = Float64Array.from({ length: N }, (_, i) => (i % 3 === 1 ? 1 : 0));
  const weight = Float64Array.from({ length: N }, (_, i) => (i % T < LENGTHS[Math.floor(i / T)] ? 1 : 0));
  return { N, target, weight };
}

/** The rows of a [B, T, width] array at real positions (t < lengths[b]: padded ones are not computed); inputs with padding make the selection matter. */
export function realRows(B: number, T: number, lengths: ArrayLike<number>, width: number): (x: ArrayLike<number>) => Float64Array {
  expect(Array.from(lengths).some((l) => l < T), 'the inputs have padding').toBe(true);
  return (x) => Float64Array.from({ length: B * T * width }, (_, i) => i).filter((i) => Math.floor(i / width) % T < lengths[Math.floor(i / (T * width))]).map((i) => x[i]);
}

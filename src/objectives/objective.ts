// The pre-training objectives (../shared/spec/objectives.md) as GPU op lists built once:
// position selection with probability p (never special or padding ids), corruption by the
// objective's generator, and the head each one trains.
//
//   objective  corruption of selected positions         head (loss positions)
//   mlm        80 % [MASK], 10 % uniform, 10 % kept      vocabulary, selected only
//   slm        100 % uniform                             vocabulary, selected only
//   rts        100 % uniform (or unigram count^α,        detection, every real position, λ = 50
//              generator 'unigram', an extension)
//   crts       100 % C-RTS cluster generator             detection, every real position, λ = 50
//   electra    80/10/10 for the generator's input, then  generator: vocabulary, selected only;
//              the generator's Gumbel-max samples        discriminator: detection, every real position
//
// A replacement equal to the original counts as original (detection target 0). C-RTS's
// K×K counts are updated on the GPU after the discriminator's forward in the same step.
// ELECTRA: the objective gives the generator's input (inputIds, MLM-corrupted) and, in
// `electra`, the discriminator's input ids and the ops that sample into them from the
// generator's logits and then label them; src/objectives/electra.ts wires the two encoders.
import type { Runtime, Op } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { unigramDraw, unigramTable, DEFAULT_UNIGRAM_ALPHA, type UnigramTable } from '../kernels/unigram.js';
import { corrupt, crtsDraw, crtsState, crtsUpdate, detectLabels, gumbelSample, selectionCapacity, selectPositions, vocabTables, type CrtsState, type GumbelOps, type LogitsChunk, type Selection, type VocabTables } from '../kernels/sampling.js';

export const OBJECTIVES = ['mlm', 'slm', 'rts', 'crts', 'electra'] as const;
export type ObjectiveName = (typeof OBJECTIVES)[number];

export function parseObjective(s: string): ObjectiveName {
  if ((OBJECTIVES as readonly string[]).includes(s)) return s as ObjectiveName;
  throw new Error(`unknown objective '${s}' (expected one of ${OBJECTIVES.join(', ')})`);
}

export const DETECTION_LAMBDA = 50;

/** RTS's replacement generators: uniform over non-special ids (the paper's) or unigram count^α. */
export const RTS_GENERATORS = ['uniform', 'unigram'] as const;
export type RtsGenerator = (typeof RTS_GENERATORS)[number];

export interface ObjectiveOptions {
  /** Selection probability (0.15). */
  p: number;
  seed: number;
  maskId: number;
  specialIds: number[];
  vocabSize: number;
  /** crts: token → cluster (special ids may be −1) and K; saved counts when resuming. */
  clusters?: { assignment: ArrayLike<number>; k: number; counts?: ArrayLike<number> };
  /** crts: softmax temperature-like β on the min-max normalised counts (2.0). */
  beta?: number;
  /** rts: the replacement generator ('uniform', the default, or 'unigram'). */
  generator?: RtsGenerator;
  /** rts + unigram: the exponent α in p(r) ∝ count(r)^α (0.75), and the counts (unigram.json, one per id). */
  alpha?: number;
  unigram?: ArrayLike<number>;
  /** crts: use this state (e.g. the training graph's counts, for evaluation) instead of a new one. */
  sharedCrts?: CrtsState;
}

/** What a built objective gives the model. */
export interface BuiltObjective {
  name: ObjectiveName;
  head: 'mlm' | 'detection';
  /** Ops run before the encoder: selection and corruption. */
  corruptOps: Op[];
  /** The encoder's input ids [B, T] u32 (corrupted). */
  inputIds: Tensor;
  selection: Selection;
  vocab: VocabTables;
  /** detection heads: f32 [N] targets and weights. */
  target?: Tensor;
  weight?: Tensor;
  /** crts: state and the op list to run after the head's forward (needs its logits). */
  crts?: CrtsState;
  /** electra: the discriminator's side (inputIds above is the generator's input). */
  electra?: ElectraSampling;
  /** Build ops that run after the discriminator's forward (C-RTS's count update). */
  afterForward(logits: Tensor): Promise<Op[]>;
  release(): void;
}

export interface ElectraSampling {
  /**
   * u32 [B, T]: the discriminator's input, a copy of the clean ids (made by a second run of
   * the same selection: same seed and stream, so the same list) whose selected positions
   * receive the generator's samples. The generator's own input (MLM-corrupted) stays intact
   * for its backward.
   */
  discIds: Tensor;
  /** Gumbel-max ops over the generator's logits chunks (one per chunk, run right after it). */
  sample(chunks: readonly LogitsChunk[]): Promise<GumbelOps>;
  /** Detection targets and weights from discIds (run after the last sampling op). */
  labelOps: Op[];
}

/** Counter streams of the objectives' draws (selection sub 0 and corruption sub 1 share stream values). */
const STREAM = { select: 1, corrupt: 2, crts: 3, gumbel: 4, unigram: 5 } as const;

/**
 * Build an objective over `ids` ([B, T] u32, the clean batch, uploaded each step) reading
 * the step counter from `step` (the per-step uniform shared with AdamW).
 */
export async function buildObjective(rt: Runtime, name: ObjectiveName, ids: Tensor, step: GPUBuffer, o: ObjectiveOptions): Promise<BuiltObjective> {
  if (!(o.p > 0 && o.p < 1)) throw new Error(`objective ${name}: selection probability must be in (0, 1), got ${o.p}`);
  const vt = vocabTables(rt, o.vocabSize, o.specialIds);
  const N = ids.size;
  const selOpts = { p: o.p, capacity: selectionCapacity(N, o.p), seed: o.seed, stream: STREAM.select };
  const sel = await selectPositions(rt, ids, vt, step, selOpts);
  const corruptOps: Op[] = [...sel.ops];
  const own: Tensor[] = [];
  let crts: CrtsState | undefined;
  let electra: ElectraSampling | undefined;
  let discSel: Selection | undefined;
  let table: UnigramTable | undefined;
  const generator = o.generator ?? 'uniform';
  if (!(RTS_GENERATORS as readonly string[]).includes(generator)) throw new Error(`objective ${name}: unknown generator '${generator}' (expected one of ${RTS_GENERATORS.join(', ')})`);
  if (generator !== 'uniform' && name !== 'rts') throw new Error(`objective ${name}: the '${generator}' generator applies to rts only`);
  if (generator === 'unigram') {
    if (!o.unigram) throw new Error("objective rts: the unigram generator needs token counts (unigram.json from `prepare`)");
    table = unigramTable(rt, o.unigram, vt, o.alpha ?? DEFAULT_UNIGRAM_ALPHA);
    corruptOps.push(await unigramDraw(rt, ids, sel, table, step, { seed: o.seed, stream: STREAM.unigram }));
  } else if (name === 'mlm' || name === 'electra') corruptOps.push(await corrupt(rt, 'mlm', ids, vt, sel, step, { seed: o.seed, stream: STREAM.corrupt, maskId: o.maskId }));
  else if (name === 'slm' || name === 'rts') corruptOps.push(await corrupt(rt, 'uniform', ids, vt, sel, step, { seed: o.seed, stream: STREAM.corrupt }));
  else {
    if (!o.clusters) throw new Error("objective 'crts' needs token clusters (clusters.json from `prepare`)");
    const { assignment, k } = o.clusters;
    if (assignment.length !== o.vocabSize) throw new Error(`objective crts: the cluster map has ${assignment.length} entries, the vocabulary ${o.vocabSize}`);
    // Special ids carry cluster −1 in clusters.json: they are never selected nor drawn.
    const map = Uint32Array.from(assignment, (c) => (c < 0 ? 0 : c));
    crts = o.sharedCrts ?? crtsState(rt, map, k, vt, o.clusters.counts);
    corruptOps.push(await crtsDraw(rt, ids, sel, crts, vt, step, { seed: o.seed, stream: STREAM.crts, beta: o.beta ?? 2 }));
  }
  const head = name === 'mlm' || name === 'slm' ? 'mlm' : 'detection';
  let target: Tensor | undefined, weight: Tensor | undefined;
  if (head === 'detection') {
    target = rt.empty([N], 'f32', 'objective.target');
    weight = rt.empty([N], 'f32', 'objective.weight');
    own.push(target, weight);
  }
  if (name === 'electra') {
    const ds = (discSel = await selectPositions(rt, ids, vt, step, selOpts));
    corruptOps.push(...ds.ops);
    const labelOps = [await detectLabels(rt, ids, ds.outIds, vt, target!, weight!, step)];
    electra = {
      discIds: ds.outIds,
      // The generator's logits rows follow sel.list (= ds.list); the samples go to ds.outIds.
      sample: (chunks) => gumbelSample(rt, { ...sel, outIds: ds.outIds }, vt, chunks, step, { seed: o.seed, stream: STREAM.gumbel }),
      labelOps,
    };
  } else if (head === 'detection') corruptOps.push(await detectLabels(rt, ids, sel.outIds, vt, target!, weight!, step));
  return {
    name,
    head,
    corruptOps,
    inputIds: sel.outIds,
    selection: sel,
    vocab: vt,
    target,
    weight,
    crts,
    electra,
    async afterForward(logits: Tensor) {
      return crts ? [await crtsUpdate(rt, ids, sel, crts, vt, { ...logits, shape: [N] }, step)] : [];
    },
    release() {
      sel.release();
      discSel?.release();
      vt.release();
      table?.release();
      if (!o.sharedCrts) crts?.release();
      rt.release(...own);
    },
  };
}

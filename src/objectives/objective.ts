// The pre-training objectives (../shared/spec/objectives.md) as GPU op lists built once:
// position selection with probability p (never special or padding ids), corruption by the
// objective's generator, and the head each one trains.
//
//   objective  corruption of selected positions         head (loss positions)
//   mlm        80 % [MASK], 10 % uniform, 10 % kept      vocabulary, selected only
//   slm        100 % uniform                             vocabulary, selected only
//   rts        100 % uniform                             detection, every real position, λ = 50
//   crts       100 % C-RTS cluster generator             detection, every real position, λ = 50
//
// A replacement equal to the original counts as original (detection target 0). C-RTS's
// K×K counts are updated on the GPU after the discriminator's forward in the same step.
// ELECTRA (learned generator) is not built yet: asking for it is a clear error.
import type { Runtime, Op } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { corrupt, crtsDraw, crtsState, crtsUpdate, detectLabels, selectionCapacity, selectPositions, vocabTables, type CrtsState, type Selection, type VocabTables } from '../kernels/sampling.js';

export const OBJECTIVES = ['mlm', 'slm', 'rts', 'crts', 'electra'] as const;
export type ObjectiveName = (typeof OBJECTIVES)[number];

export function parseObjective(s: string): ObjectiveName {
  if ((OBJECTIVES as readonly string[]).includes(s)) return s as ObjectiveName;
  throw new Error(`unknown objective '${s}' (expected one of ${OBJECTIVES.join(', ')})`);
}

export const DETECTION_LAMBDA = 50;

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
  /** Build ops that run after the discriminator's forward (C-RTS's count update). */
  afterForward(logits: Tensor): Promise<Op[]>;
  release(): void;
}

/**
 * Build an objective over `ids` ([B, T] u32, the clean batch, uploaded each step) reading
 * the step counter from `step` (the per-step uniform shared with AdamW).
 */
export async function buildObjective(rt: Runtime, name: ObjectiveName, ids: Tensor, step: GPUBuffer, o: ObjectiveOptions): Promise<BuiltObjective> {
  if (name === 'electra')
    throw new Error("objective 'electra' (a learned generator) is not implemented yet; use mlm, slm, rts or crts");
  if (!(o.p > 0 && o.p < 1)) throw new Error(`objective ${name}: selection probability must be in (0, 1), got ${o.p}`);
  const vt = vocabTables(rt, o.vocabSize, o.specialIds);
  const N = ids.size;
  const sel = await selectPositions(rt, ids, vt, step, { p: o.p, capacity: selectionCapacity(N, o.p), seed: o.seed, stream: 1 });
  const corruptOps: Op[] = [...sel.ops];
  const own: Tensor[] = [];
  let crts: CrtsState | undefined;
  if (name === 'mlm') corruptOps.push(await corrupt(rt, 'mlm', ids, vt, sel, step, { seed: o.seed, stream: 2, maskId: o.maskId }));
  else if (name === 'slm' || name === 'rts') corruptOps.push(await corrupt(rt, 'uniform', ids, vt, sel, step, { seed: o.seed, stream: 2 }));
  else {
    if (!o.clusters) throw new Error("objective 'crts' needs token clusters (clusters.json from `prepare`)");
    const { assignment, k } = o.clusters;
    if (assignment.length !== o.vocabSize) throw new Error(`objective crts: the cluster map has ${assignment.length} entries, the vocabulary ${o.vocabSize}`);
    // Special ids carry cluster −1 in clusters.json: they are never selected nor drawn.
    const map = Uint32Array.from(assignment, (c) => (c < 0 ? 0 : c));
    crts = o.sharedCrts ?? crtsState(rt, map, k, vt, o.clusters.counts);
    corruptOps.push(await crtsDraw(rt, ids, sel, crts, vt, step, { seed: o.seed, stream: 3, beta: o.beta ?? 2 }));
  }
  const head = name === 'mlm' || name === 'slm' ? 'mlm' : 'detection';
  let target: Tensor | undefined, weight: Tensor | undefined;
  if (head === 'detection') {
    target = rt.empty([N], 'f32', 'objective.target');
    weight = rt.empty([N], 'f32', 'objective.weight');
    own.push(target, weight);
    corruptOps.push(await detectLabels(rt, ids, sel.outIds, vt, target, weight, step));
  }
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
    async afterForward(logits: Tensor) {
      return crts ? [await crtsUpdate(rt, ids, sel, crts, vt, { ...logits, shape: [N] }, step)] : [];
    },
    release() {
      sel.release();
      vt.release();
      if (!o.sharedCrts) crts?.release();
      rt.release(...own);
    },
  };
}

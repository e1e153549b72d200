// C-RTS (cluster-based RTS): every selected token x → a token of a cluster t drawn from the
// softmax of β · (row cluster(x) of the K×K count matrix C, min-max normalised along the
// row), then uniformly among t's non-special members (redrawn while equal to x); detection
// head and loss as RTS. After the discriminator's forward in the same step, each replaced
// position moves C[cluster(x), cluster(r)] by +1 when the discriminator called it original,
// −1 when it caught it (integer atomics). C starts at ones, is saved in checkpoints, and the
// evaluation graph draws from the training graph's C without updating it.
import { crtsDraw, crtsState, crtsUpdate } from '../kernels/sampling.js';
import { detectionHeadParams } from '../model/config.js';
import { STREAM, detectionFlopsPerToken, detectionGraph, selectionBase, type ObjectiveModule } from './common.js';

/** β: the softmax's scale on the normalised counts. */
const CRTS_BETA = 2;

export const crts: ObjectiveModule = {
  summary: '100 % from the C-RTS cluster generator (adapts by counting); replaced/original at every real position, ×λ = 50',
  head: 'detection',
  settings: [],
  statistics: () => ['clusters'],
  params: (cfg) => detectionHeadParams(cfg),
  forwardFlopsPerToken: (cfg, _s, T) => detectionFlopsPerToken(cfg, T),
  checkpointState: () => ({}),
  async build(ctx) {
    const { rt } = ctx;
    const clusters = ctx.statistics.clusters;
    if (!clusters) throw new Error("objective 'crts' needs token clusters (clusters.json from `prepare`)");
    if (clusters.assignment.length !== ctx.cfg.vocabSize) throw new Error(`objective crts: the cluster map has ${clusters.assignment.length} entries, the vocabulary ${ctx.cfg.vocabSize}`);
    const base = await selectionBase(ctx);
    const shared = ctx.training?.objective.crts;
    // Special ids carry cluster −1 in clusters.json: they are never selected nor drawn.
    const state = shared ?? crtsState(rt, Uint32Array.from(clusters.assignment, (c) => (c < 0 ? 0 : c)), clusters.k, base.vt);
    const draw = await crtsDraw(rt, base.ids, base.sel, state, base.vt, ctx.step, { seed: ctx.seed, stream: STREAM.crts, beta: CRTS_BETA });
    return detectionGraph(ctx, base, [draw], {
      crts: state,
      afterForward: async (logits) => [await crtsUpdate(rt, base.ids, base.sel, state, base.vt, { ...logits, shape: [base.N] }, ctx.step)],
      state: shared ? {} : { 'crts.counts': { tensor: state.counts, dtype: 'i32', shape: [state.K, state.K] } },
      release: () => (shared ? undefined : state.release()),
    });
  },
};

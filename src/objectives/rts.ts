// RTS (random token substitution): every selected position → a uniform random token (never a
// special one); the tiny detection head says "replaced or original" at every real position,
// its BCE weighted by λ = 50. No vocabulary projection at all: the paper's saving.
// Extension (not in the paper): the 'unigram' generator draws r ∝ count(r)^α from the
// corpus counts (α = 0.75 by default; α = 0 is plain RTS, α = 1 the corpus frequency).
import { corrupt } from '../kernels/sampling.js';
import { DEFAULT_UNIGRAM_ALPHA, unigramDraw, unigramTable } from '../kernels/unigram.js';
import { detectionHeadParams } from '../model/config.js';
import { STREAM, detectionFlopsPerToken, detectionGraph, selectionBase, type ObjectiveModule, type ObjectiveSettings, type RtsGenerator } from './common.js';

interface RtsState {
  generator: RtsGenerator;
  alpha?: number;
}

/** The generator as checkpoints record it (absent: uniform, as in older checkpoints). */
function rtsState(s: ObjectiveSettings): RtsState {
  const generator = s.rtsGenerator ?? 'uniform';
  return generator === 'unigram' ? { generator, alpha: s.unigramAlpha ?? DEFAULT_UNIGRAM_ALPHA } : { generator };
}

const show = (g: RtsState) => `'${g.generator}'${g.alpha !== undefined ? ` (alpha ${g.alpha})` : ''}`;

export const rts: ObjectiveModule = {
  summary: '100 % uniform random token; replaced/original at every real position, ×λ = 50',
  head: 'detection',
  settings: ['rtsGenerator', 'unigramAlpha'],
  statistics: (s) => (s.rtsGenerator === 'unigram' ? ['unigram'] : []),
  params: (cfg) => detectionHeadParams(cfg),
  forwardFlopsPerToken: (cfg, _s, T) => detectionFlopsPerToken(cfg, T),
  checkpointState: (_cfg, s) => ({ rts: rtsState(s) }),
  checkResume(saved, _cfg, s, where) {
    const theirs = (saved.rts as RtsState | undefined) ?? { generator: 'uniform' }, mine = rtsState(s);
    if (JSON.stringify(theirs) !== JSON.stringify(mine)) throw new Error(`${where}: the checkpoint's RTS generator ${show(theirs)} differs from this run's ${show(mine)}: check --generator and --alpha`);
  },
  async build(ctx) {
    const { rt, settings: s } = ctx;
    const base = await selectionBase(ctx);
    if (s.rtsGenerator !== 'unigram') return detectionGraph(ctx, base, [await corrupt(rt, 'uniform', base.ids, base.vt, base.sel, ctx.step, { seed: ctx.seed, stream: STREAM.corrupt })]);
    const counts = ctx.statistics.unigram;
    if (!counts) throw new Error('objective rts: the unigram generator needs token counts (unigram.json from `prepare`)');
    const table = unigramTable(rt, counts, base.vt, s.unigramAlpha ?? DEFAULT_UNIGRAM_ALPHA);
    const op = await unigramDraw(rt, base.ids, base.sel, table, ctx.step, { seed: ctx.seed, stream: STREAM.unigram });
    return detectionGraph(ctx, base, [op], { release: () => table.release() });
  },
};

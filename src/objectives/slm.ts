// SLM (swapped language modelling): every selected position → a uniform random token, never
// [MASK]; the vocabulary head predicts the original token at the selected positions only.
// MLM vs SLM isolates the effect of showing an artificial [MASK].
import { corrupt } from '../kernels/sampling.js';
import { mlmHeadParams } from '../model/config.js';
import { STREAM, selectionBase, vocabularyGraph, type ObjectiveModule } from './common.js';

export const slm: ObjectiveModule = {
  summary: '100 % uniform random token (never [MASK]); vocabulary softmax at the selected positions',
  head: 'mlm',
  settings: [],
  statistics: () => [],
  params: (cfg) => mlmHeadParams(cfg),
  checkpointState: () => ({}),
  async build(ctx) {
    const base = await selectionBase(ctx);
    const op = await corrupt(ctx.rt, 'uniform', base.ids, base.vt, base.sel, ctx.step, { seed: ctx.seed, stream: STREAM.corrupt });
    return vocabularyGraph(ctx, base, [op]);
  },
};

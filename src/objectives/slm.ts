// SLM (swapped language modelling): every selected position → a uniform random token, never
// [MASK]; the vocabulary head predicts the original token at the selected positions only.
// MLM vs SLM isolates the effect of showing an artificial [MASK].
import { corrupt } from '../kernels/sampling.js';
import { STREAM, vocabularyObjective } from './common.js';

export const slm = vocabularyObjective('100 % uniform random token (never [MASK]); vocabulary softmax at the selected positions', (ctx, base) =>
  corrupt(ctx.rt, 'uniform', base.ids, base.vt, base.sel, ctx.step, { seed: ctx.seed, stream: STREAM.corrupt }),
);

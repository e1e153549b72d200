// MLM (BERT): 80 % of the selected positions → [MASK], 10 % → a uniform random token, 10 %
// kept; the vocabulary head predicts the original token at the selected positions only.
import { corrupt } from '../kernels/sampling.js';
import { STREAM, vocabularyObjective } from './common.js';

export const mlm = vocabularyObjective('80 % [MASK], 10 % uniform random token, 10 % kept; vocabulary softmax at the selected positions', (ctx, base) =>
  corrupt(ctx.rt, 'mlm', base.ids, base.vt, base.sel, ctx.step, { seed: ctx.seed, stream: STREAM.corrupt, maskId: ctx.special.mask }),
);

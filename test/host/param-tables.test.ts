// The parameter tables follow the usual AdamW rule (BERT's, Hugging Face's run_glue): weight
// decay on weights and embeddings, none on biases and LayerNorm gains — for the encoder (post-
// and pre-LN), every head and the ELECTRA generator. A flag on the wrong side changes an
// update by lr·wd·value per step, too small for a short trajectory to show on a bias near 0.
import { describe, expect, it } from 'vitest';
import { detectionHeadParams, encoderParams, generatorConfig, generatorParams, makeConfig, mlmHeadParams } from '../../src/model/config.js';
import { classificationHeadParams } from '../../src/model/classifier.js';

const cfg = makeConfig('tiny', { vocabSize: 50 });
const noDecay = (name: string) => name.endsWith('.bias') || name.endsWith('LayerNorm.weight') || name.endsWith('final_layer_norm.weight');

describe('parameter tables', () => {
  const tables = {
    encoder: encoderParams(cfg, ''),
    'pre-LN encoder': encoderParams({ ...cfg, preLayerNorm: true }, ''),
    'MLM head': mlmHeadParams(cfg),
    'detection head': detectionHeadParams(cfg),
    'ELECTRA generator': generatorParams(cfg, generatorConfig(cfg, 0.5)),
    'classification head': classificationHeadParams(cfg, 3),
  };
  for (const [what, specs] of Object.entries(tables))
    it(`${what}: decay on weights and embeddings, none on biases and LayerNorm`, () => {
      expect(specs.length).toBeGreaterThan(0);
      for (const s of specs) expect(s.decay, s.name).toBe(!noDecay(s.name));
    });
});

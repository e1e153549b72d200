// The float64 reference model against Hugging Face `transformers` itself: fixtures made by
// test/fixtures/hf/make_fixtures.py (torch + transformers, on a developer's machine) hold
// tiny BERT-MLM and ELECTRA-discriminator checkpoints and what transformers computed for
// fixed inputs with padding. Same weights → same hidden states and logits.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadSafetensors, toFloat32 } from '../../src/io/safetensors.js';
import { makeConfig } from '../../src/model/config.js';
import { referenceForwardBackward, type Head, type Params } from '../../src/model/reference.js';
import { expectClose } from '../harness.js';

function load(dir: string) {
  const root = fileURLToPath(new URL(`../fixtures/hf/${dir}/`, import.meta.url));
  const hf = JSON.parse(readFileSync(root + 'config.json', 'utf8'));
  const inputs = JSON.parse(readFileSync(root + 'inputs.json', 'utf8'));
  const params: Params = new Map(Object.entries(loadSafetensors(root + 'model.safetensors').tensors).map(([k, t]) => [k, Float64Array.from(toFloat32(t, k))]));
  const expected = loadSafetensors(root + 'expected.safetensors').tensors;
  const cfg = makeConfig('micro', {
    vocabSize: hf.vocab_size,
    hiddenSize: hf.hidden_size,
    numLayers: hf.num_hidden_layers,
    numHeads: hf.num_attention_heads,
    intermediateSize: hf.intermediate_size,
    maxPositions: hf.max_position_embeddings,
    typeVocabSize: hf.type_vocab_size,
    layerNormEps: hf.layer_norm_eps,
    hiddenDropout: 0,
    attentionDropout: 0,
  });
  const B = inputs.input_ids.length, T = inputs.input_ids[0].length;
  const batch = {
    B,
    T,
    ids: Int32Array.from(inputs.input_ids.flat()),
    types: Int32Array.from(inputs.token_type_ids.flat()),
    lengths: Int32Array.from(inputs.attention_mask.map((m: number[]) => m.reduce((a, b) => a + b, 0))),
  };
  return { cfg, params, expected, batch };
}

// float32 (transformers) vs float64 (reference): ~1e-6 relative through 2 layers.
const TOL = { atol: 2e-5, rtol: 2e-5 };

describe('reference model vs Hugging Face transformers', () => {
  it('BertForMaskedLM: last hidden state and MLM logits at every position', () => {
    const { cfg, params, expected, batch } = load('bert-mlm-tiny');
    const N = batch.B * batch.T;
    const head: Head = { kind: 'mlm', positions: Int32Array.from({ length: N }, (_, i) => i), labels: new Int32Array(N) };
    const r = referenceForwardBackward(cfg, params, 'bert.', batch, head, false);
    expectClose(r.hidden, toFloat32(expected.last_hidden_state), TOL, 'last_hidden_state');
    expectClose(r.logits, toFloat32(expected.mlm_logits), TOL, 'MLM logits');
    expect(r.logits.length).toBe(N * cfg.vocabSize);
  });

  it('ElectraForPreTraining: last hidden state and detection logits', () => {
    const { cfg, params, expected, batch } = load('electra-disc-tiny');
    const N = batch.B * batch.T;
    const head: Head = { kind: 'detection', labels: new Float64Array(N), weights: new Float64Array(N).fill(1), lambda: 1 };
    const r = referenceForwardBackward(cfg, params, 'electra.', batch, head, false);
    expectClose(r.hidden, toFloat32(expected.last_hidden_state), TOL, 'last_hidden_state');
    expectClose(r.logits, toFloat32(expected.detection_logits), TOL, 'detection logits');
  });
});

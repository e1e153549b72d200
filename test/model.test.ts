// The GPU model end to end against (1) Hugging Face transformers' own outputs for the same
// checkpoint (fixtures from test/fixtures/hf/make_fixtures.py) and (2) the float64
// reference model: the loss and the gradient of every parameter, for the MLM head and the
// detection head, with padding.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { getRuntime, expectClose } from './harness.js';
import { compareGrads, realRows } from './model-helpers.js';
import { readHfCheckpoint } from '../src/io/hf.js';
import { loadSafetensors, toFloat32 } from '../src/io/safetensors.js';
import { encoderParams, mlmHeadParams, detectionHeadParams } from '../src/model/config.js';
import { allocParams, loadParams, readParams, recordZeroGrads } from '../src/model/params.js';
import { Encoder } from '../src/model/encoder.js';
import { buildMlmHead, buildDetectionHead } from '../src/model/heads.js';
import { dropoutRng } from '../src/kernels/dropout.js';
import { referenceForwardBackward, type Params } from '../src/model/reference.js';
import { encoderForwardFlops } from '../src/model/flops.js';

const NONE = 0xffffffff;

function fixture(dir: string) {
  const root = fileURLToPath(new URL(`./fixtures/hf/${dir}/`, import.meta.url));
  const ck = readHfCheckpoint(root);
  const inputs = JSON.parse(readFileSync(root + 'inputs.json', 'utf8'));
  const expected = loadSafetensors(root + 'expected.safetensors').tensors;
  const B = inputs.input_ids.length, T = inputs.input_ids[0].length;
  const ids = Uint32Array.from(inputs.input_ids.flat());
  const types = Uint32Array.from(inputs.token_type_ids.flat());
  const lengths = Uint32Array.from(inputs.attention_mask.map((m: number[]) => m.reduce((a, b) => a + b, 0)));
  return { ck, expected, B, T, ids, types, lengths };
}

describe('GPU model vs transformers and the float64 reference', () => {
  it('BERT MLM: hidden states match transformers; loss and every gradient match the reference', async () => {
    const rt = await getRuntime();
    const { ck, expected, B, T, ids, types, lengths } = fixture('bert-mlm-tiny');
    const cfg = ck.config;
    const params = allocParams(rt, [...encoderParams(cfg, ''), ...mlmHeadParams(cfg)]);
    loadParams(rt, params, ck.params, 'fixture');
    const inputs = { ids: rt.upload(ids, [B, T], 'u32'), types: rt.upload(types, [B, T], 'u32'), lengths: rt.upload(lengths, [B], 'u32') };
    const enc = await Encoder.build(rt, cfg, params, '', inputs, { dropoutRng: dropoutRng(rt, 1), seed: 1 });
    const positions = [1, 3, 5, 8, 9];
    const labels = [7, 30, 2, 11, 40];
    const cap = 8;
    const pad = (xs: number[]) => Uint32Array.from({ length: cap }, (_, i) => (i < xs.length ? xs[i] : NONE));
    const targets = { list: rt.upload(pad(positions), [cap], 'u32'), labels: rt.upload(pad(labels), [cap], 'u32'), meta: rt.upload([positions.length, positions.length, 0, 0], [4], 'u32') };
    const head = await buildMlmHead(rt, cfg, params, 'embeddings.word_embeddings.weight', enc.hidden, enc.dHidden, targets);
    recordZeroGrads(rt, params);
    rt.record(...enc.forwardOps, ...head.forward, ...head.backward, ...enc.backwardOps);
    await rt.sync();

    // (1) transformers: the encoder's output for this checkpoint and input, at the real
    // positions (padded ones are not computed; EncoderInputs.lengths).
    const real = realRows(B, T, lengths, cfg.hiddenSize);
    expectClose(real(await rt.read(enc.hidden)), real(toFloat32(expected.last_hidden_state)), { atol: 1e-4, rtol: 1e-4 }, 'last_hidden_state vs transformers');
    // (2) float64 reference: loss and gradients.
    const p64: Params = new Map([...ck.params].map(([k, v]) => [k, Float64Array.from(v)]));
    const ref = referenceForwardBackward(cfg, p64, '', { B, T, ids: Int32Array.from(ids), types: Int32Array.from(types), lengths: Int32Array.from(lengths) }, { kind: 'mlm', positions: Int32Array.from(positions), labels: Int32Array.from(labels) });
    const stats = await rt.read(head.xent.stats);
    expect(stats[4 * cap]).toBeCloseTo(ref.loss, 4);
    compareGrads(await readParams(rt, params, 'grads'), ref.grads);
  });

  it('ELECTRA detection: logits match transformers; loss (λ = 50) and every gradient match the reference', async () => {
    const rt = await getRuntime();
    const { ck, expected, B, T, ids, types, lengths } = fixture('electra-disc-tiny');
    const cfg = ck.config;
    const params = allocParams(rt, [...encoderParams(cfg, ''), ...detectionHeadParams(cfg)]);
    loadParams(rt, params, ck.params, 'fixture');
    const inputs = { ids: rt.upload(ids, [B, T], 'u32'), types: rt.upload(types, [B, T], 'u32'), lengths: rt.upload(lengths, [B], 'u32') };
    const enc = await Encoder.build(rt, cfg, params, '', inputs, { dropoutRng: dropoutRng(rt, 1), seed: 1 });
    const N = B * T;
    const target = Float64Array.from({ length: N }, (_, i) => (i % 3 === 1 ? 1 : 0));
    const weight = Float64Array.from({ length: N }, (_, i) => (i % T < lengths[Math.floor(i / T)] && i % T !== 0 ? 1 : 0));
    const t = { target: rt.upload(target, [N]), weight: rt.upload(weight, [N]) };
    const head = await buildDetectionHead(rt, cfg, params, enc.hidden, enc.dHidden, t, { lambda: 50 });
    recordZeroGrads(rt, params);
    rt.record(...enc.forwardOps, ...head.forward, ...head.backward, ...enc.backwardOps);
    await rt.sync();

    const real = realRows(B, T, lengths, 1);
    expectClose(real(await rt.read(head.logits)), real(toFloat32(expected.detection_logits)), { atol: 1e-4, rtol: 1e-4 }, 'detection logits vs transformers (real positions)');
    const p64: Params = new Map([...ck.params].map(([k, v]) => [k, Float64Array.from(v)]));
    const ref = referenceForwardBackward(cfg, p64, '', { B, T, ids: Int32Array.from(ids), types: Int32Array.from(types), lengths: Int32Array.from(lengths) }, { kind: 'detection', labels: target, weights: weight, lambda: 50 });
    const out = await rt.read(head.bce.out);
    expect(out[0]).toBeCloseTo(ref.loss, 3);
    compareGrads(await readParams(rt, params, 'grads'), ref.grads);
  });
});

describe('model FLOPs per token', () => {
  it("count the last layer's queries, attention, output projection and FFN at the output rows only where the encoder computes them so (post-LN), everywhere otherwise", () => {
    const c = { hiddenSize: 64, intermediateSize: 256, numLayers: 3, preLayerNorm: false } as Parameters<typeof encoderForwardFlops>[0];
    const layer = 2 * 4 * 64 * 64 + 2 * 2 * 64 * 256 + 2 * 2 * 32 * 64, ffn = 2 * 2 * 64 * 256;
    // Keys and values stay every position's: 2 of the 4 h×h products.
    const atRows = layer - 2 * 2 * 64 * 64;
    expect(encoderForwardFlops(c, 32)).toBe(3 * layer);
    expect(encoderForwardFlops(c, 32, 0.15)).toBeCloseTo(3 * layer - 0.85 * atRows, 6);
    expect(atRows).toBe(2 * 2 * 64 * 64 + ffn + 2 * 2 * 32 * 64);
    expect(encoderForwardFlops({ ...c, preLayerNorm: true }, 32, 0.15)).toBe(3 * layer);
  });
});

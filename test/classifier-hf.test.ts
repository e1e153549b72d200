// The classification head against transformers' own BertForSequenceClassification: a tiny
// checkpoint with random weights and its logits and loss for fixed inputs and labels
// (fixture from test/fixtures/hf/make_cls_fixture.py, dropout 0), run through the GPU
// encoder + head.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { expectClose, getRuntime } from './harness.js';
import { configFromHf } from '../src/io/hf.js';
import { loadSafetensors, toFloat32 } from '../src/io/safetensors.js';
import { encoderParams } from '../src/model/config.js';
import { buildClassificationHead, classificationHeadParams } from '../src/model/classifier.js';
import { Encoder } from '../src/model/encoder.js';
import { allocParams, loadParams } from '../src/model/params.js';
import { dropoutRng } from '../src/kernels/dropout.js';

describe('classification head vs transformers', () => {
  it("BertForSequenceClassification's logits and loss for the same weights and inputs", async () => {
    const rt = await getRuntime();
    const root = fileURLToPath(new URL('./fixtures/hf/bert-cls-tiny/', import.meta.url));
    const hf = JSON.parse(readFileSync(root + 'config.json', 'utf8'));
    const cfg = configFromHf(hf);
    const L = Object.keys(hf.id2label).length;
    // Hugging Face's names less the 'bert.' of the encoder and pooler; the classifier as is.
    const values = new Map(Object.entries(loadSafetensors(root + 'model.safetensors').tensors).map(([k, t]) => [k.replace(/^bert\./, ''), toFloat32(t, k)]));
    const params = allocParams(rt, [...encoderParams(cfg, ''), ...classificationHeadParams(cfg, L)]);
    loadParams(rt, params, values, 'bert-cls-tiny');
    const inputs = JSON.parse(readFileSync(root + 'inputs.json', 'utf8'));
    const B = inputs.input_ids.length, T = inputs.input_ids[0].length;
    const enc = await Encoder.build(rt, cfg, params, '', {
      ids: rt.upload(Uint32Array.from(inputs.input_ids.flat()), [B, T], 'u32'),
      types: rt.upload(Uint32Array.from(inputs.token_type_ids.flat()), [B, T], 'u32'),
      lengths: rt.upload(Uint32Array.from(inputs.attention_mask.map((m: number[]) => m.reduce((a, b) => a + b, 0))), [B], 'u32'),
    }, { dropoutRng: dropoutRng(rt, 1), seed: 1 });
    const targets = { rows: rt.upload(Uint32Array.from({ length: B }, (_, b) => b * T), [B], 'u32'), labels: rt.upload(Uint32Array.from(inputs.labels), [B], 'u32'), meta: rt.upload([B, B, 0, 0], [4], 'u32') };
    const head = await buildClassificationHead(rt, cfg, params, enc.hidden, enc.dHidden, targets, { kind: 'classification', numLabels: L, dropoutRng: dropoutRng(rt, 1) });
    rt.record(...enc.forwardOps, ...head.forward);
    await rt.sync();
    const expected = loadSafetensors(root + 'expected.safetensors').tensors;
    // f32 through two layers with weights of scale 0.3: 1e-4 (as the other transformers fixtures).
    expectClose(await rt.read(head.logits), toFloat32(expected.logits), { atol: 1e-4, rtol: 1e-4 }, 'logits vs transformers');
    expect((await rt.read(head.xent!.stats))[4 * B]).toBeCloseTo(toFloat32(expected.loss)[0], 4);
  });
});

// Export and import: a run (built here with saveCheckpoint, as the trainer writes it) is
// exported as a Hugging Face directory; importing it back (readHfCheckpoint, initFromHf)
// gives identical parameters, and predicting from the run and from the export gives
// identical outputs. Architecture choice per objective, tokenizer files, the ELECTRA
// generator's layout, --init-from's report and config check, F16/BF16 storage, and bad
// files (truncated, lying header, config disagreeing with the tensors) as clear errors.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getRuntime, expectClose } from './harness.js';
import { saveCheckpoint } from '../src/io/checkpoint.js';
import { encodeSafetensors, fromFloat32, loadSafetensors, toFloat32, type SafeTensor } from '../src/io/safetensors.js';
import { readHfCheckpoint } from '../src/io/hf.js';
import { exportRun, type Objective } from '../src/io/export.js';
import { initFromHf, describeInitFrom } from '../src/io/init-from.js';
import { detectionHeadParams, encoderParams, mlmHeadParams, type EncoderConfig } from '../src/model/config.js';
import { allocParams, initParams, readParams, releaseParams } from '../src/model/params.js';
import { loadPredictModel, Predictor, type PredictInput } from '../src/eval/predict.js';
import { f32ToF16Bits } from '../src/gpu/tensor.js';
import { WordPieceTokenizer } from '../src/data/tokenizer.js';
import { tempDir } from './tmp.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const fixture = (d: string) => fileURLToPath(new URL(`./fixtures/hf/${d}`, import.meta.url));
const tmp = (what: string) => tempDir(`electrolite-export-${what}-`);

function tinyTokenizer(cased = false): WordPieceTokenizer {
  const letters = Array.from({ length: 26 }, (_, i) => String.fromCharCode(97 + i));
  const digits = Array.from({ length: 10 }, (_, i) => String(i));
  return new WordPieceTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...letters, ...digits], cased ? { lowercase: false, stripAccents: false } : undefined);
}

const BATCH: PredictInput[] = [
  { ids: [2, 11, 27, 5, 39, 8, 3], types: [0, 0, 0, 0, 1, 1, 1] },
  { ids: [2, 17, 4, 3], types: [0, 0, 0, 0] },
];

/** A run directory as the trainer writes it: config.json, a data dir with the tokenizer, checkpoints. */
function makeRun(objective: Objective, cfg: EncoderConfig, steps: [number, Map<string, Float32Array>][], opts: { cased?: boolean; shapes?: Map<string, number[]> } = {}): string {
  const root = tmp(objective);
  const data = join(root, 'data');
  mkdirSync(data);
  tinyTokenizer(opts.cased).save(data);
  const run = join(root, 'run');
  mkdirSync(run);
  writeFileSync(join(run, 'config.json'), JSON.stringify({ objective, model: cfg, data, seed: 1 }));
  const shapes = new Map([...encoderParams(cfg, ''), ...mlmHeadParams(cfg), ...detectionHeadParams(cfg)].map((s) => [s.name, s.shape]));
  for (const [k, v] of opts.shapes ?? []) shapes.set(k, v);
  for (const [step, params] of steps) {
    const model: Record<string, SafeTensor> = {};
    for (const [k, v] of params) model[k] = fromFloat32(v, shapes.get(k)!);
    const optimizer = { 'm.embeddings.LayerNorm.bias': fromFloat32(new Float32Array(cfg.hiddenSize), [cfg.hiddenSize]) };
    saveCheckpoint(run, { step, tensors: { model, optimizer }, state: { config: cfg, objective } });
  }
  return run;
}

const scaled = (p: Map<string, Float32Array>, f: number) => new Map([...p].map(([k, v]) => [k, v.map((x) => x * f)]));
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

describe('export a run as a Hugging Face directory', () => {
  it('MLM run → BertForMaskedLM + tokenizer files; export then import: identical parameters and outputs', async () => {
    const ck = readHfCheckpoint(fixture('bert-mlm-tiny'));
    const run = makeRun('mlm', ck.config, [[10, ck.params], [20, scaled(ck.params, 0.5)]]);
    const out = tmp('mlm-out');
    const s = exportRun({ run, out, step: 10 });
    expect(s).toMatchObject({ step: 10, objective: 'mlm', as: 'bert-mlm', className: 'BertForMaskedLM', tensors: 42, vocabSize: 41 });
    for (const f of ['model.safetensors', 'config.json', 'vocab.txt', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) expect(existsSync(join(out, f)), f).toBe(true);
    expect(json(join(out, 'config.json'))).toMatchObject({ architectures: ['BertForMaskedLM'], model_type: 'bert', vocab_size: 41, hidden_size: 64, num_hidden_layers: 2, max_position_embeddings: 16, hidden_act: 'gelu' });
    expect(json(join(out, 'tokenizer_config.json'))).toMatchObject({ tokenizer_class: 'BertTokenizer', do_lower_case: true, strip_accents: null, model_max_length: 16, mask_token: '[MASK]' });
    expect(json(join(out, 'special_tokens_map.json'))).toEqual({ unk_token: '[UNK]', sep_token: '[SEP]', pad_token: '[PAD]', cls_token: '[CLS]', mask_token: '[MASK]' });
    expect(readFileSync(join(out, 'vocab.txt'), 'utf8')).toBe(tinyTokenizer().vocabTxt());
    // The same tensor names transformers' save_pretrained wrote for this model.
    expect(Object.keys(loadSafetensors(join(out, 'model.safetensors')).tensors).sort()).toEqual(Object.keys(loadSafetensors(join(fixture('bert-mlm-tiny'), 'model.safetensors')).tensors).sort());
    // Import: identical parameters (readHfCheckpoint and initFromHf into a host map).
    const back = readHfCheckpoint(out);
    expect(back.config).toEqual(ck.config);
    for (const [k, v] of ck.params) expect(back.params.get(k), k).toEqual(v);
    const host = new Map([...ck.params].map(([k, v]) => [k, new Float32Array(v.length)]));
    const r = initFromHf(out, ck.config, host);
    expect(r.loaded.length).toBe(42);
    expect(r.fresh).toEqual([]);
    for (const [k, v] of ck.params) expect(host.get(k), k).toEqual(v);
    // Identical outputs from the run's checkpoint and from the export; the newest step by default.
    const rt = await getRuntime();
    const fromRun = Predictor.create(rt, loadPredictModel(run, 10)), fromExport = Predictor.create(rt, loadPredictModel(out));
    const a = await fromRun.run(BATCH, { positions: 'all' }), b = await fromExport.run(BATCH, { positions: 'all' });
    for (let i = 0; i < BATCH.length; i++) expect(b[i].vocabLogits).toEqual(a[i].vocabLogits);
    const want = toFloat32(loadSafetensors(join(fixture('bert-mlm-tiny'), 'expected.safetensors')).tensors.mlm_logits);
    expectClose(a[1].vocabLogits![2], want.subarray((7 + 2) * 41, (7 + 3) * 41), { atol: 1e-4, rtol: 1e-4 }, 'run logits vs transformers'); // as test/model.test.ts
    fromRun.release();
    fromExport.release();
    expect(exportRun({ run, out: tmp('mlm-latest') }).step).toBe(20);
  });

  it('detection objectives → ElectraForPreTraining (cased tokenizer kept); --as bert; wrong choices are clear errors', async () => {
    const ck = readHfCheckpoint(fixture('electra-disc-tiny'));
    for (const objective of ['rts', 'crts', 'electra'] as const) {
      const run = makeRun(objective, ck.config, [[10, ck.params]], { cased: true });
      const out = tmp(`${objective}-out`);
      expect(exportRun({ run, out })).toMatchObject({ as: 'electra-discriminator', className: 'ElectraForPreTraining', tensors: 41 });
      expect(json(join(out, 'config.json'))).toMatchObject({ architectures: ['ElectraForPreTraining'], model_type: 'electra', embedding_size: 64 });
      expect(json(join(out, 'tokenizer_config.json'))).toMatchObject({ do_lower_case: false, strip_accents: null });
      expect(json(join(out, 'tokenizer.json')).normalizer).toMatchObject({ lowercase: false, strip_accents: false });
      const back = readHfCheckpoint(out);
      for (const [k, v] of ck.params) expect(back.params.get(k), k).toEqual(v);
      if (objective === 'rts') {
        const rt = await getRuntime();
        const a = Predictor.create(rt, loadPredictModel(run)), b = Predictor.create(rt, loadPredictModel(out));
        const ra = await a.run(BATCH), rb = await b.run(BATCH);
        for (let i = 0; i < BATCH.length; i++) expect(rb[i].detectionLogits).toEqual(ra[i].detectionLogits);
        a.release();
        b.release();
        const bare = tmp('bare');
        expect(exportRun({ run, out: bare, as: 'bert' })).toMatchObject({ className: 'BertModel', tensors: 37 });
        expect(readHfCheckpoint(bare).arch).toBe('bert');
        expect(() => exportRun({ run, out: tmp('x'), as: 'bert-mlm' })).toThrow(/the rts run has no MLM head \(cls\.predictions\.\*\); use --as electra-discriminator or --as bert/);
        expect(() => exportRun({ run, out: tmp('x'), as: 'electra-generator' })).toThrow(/holds no generator \(no generator\.encoder\.\* tensors\); only ELECTRA runs have one/);
        expect(() => exportRun({ run, out: tmp('x'), step: 7 })).toThrow(/no checkpoint at step 7 \(checkpoints: steps 10\)/);
      }
    }
    const mlm = makeRun('slm', ck.config, [[3, readHfCheckpoint(fixture('bert-mlm-tiny')).params]]);
    expect(() => exportRun({ run: mlm, out: tmp('x'), as: 'electra-discriminator' })).toThrow(/the slm run has no detection head/);
    expect(() => exportRun({ run: tmp('empty'), out: tmp('x') })).toThrow(/not a run directory \(no config\.json\)/);
    const preLn = makeRun('mlm', { ...ck.config, preLayerNorm: true }, [[1, readHfCheckpoint(fixture('bert-mlm-tiny')).params]]);
    expect(() => exportRun({ run: preLn, out: tmp('x') })).toThrow(/pre-LayerNorm encoder, which transformers' BERT and ELECTRA \(post-LayerNorm\) cannot represent/);
  });

  it('the ELECTRA generator → ElectraForMaskedLM (shared embeddings, projection, tied decoder)', () => {
    const ck = readHfCheckpoint(fixture('electra-disc-tiny'));
    const cfg = ck.config; // E = 64
    const gen: EncoderConfig = { ...cfg, hiddenSize: 32, numHeads: 1, intermediateSize: 64 };
    const params = new Map(ck.params);
    const shapes = new Map<string, number[]>();
    let seed = 1;
    const add = (name: string, shape: number[]) => {
      shapes.set(name, shape);
      params.set(name, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => ((seed = (seed * 48271) % 2147483647) / 2147483647) - 0.5));
    };
    add('generator.embeddings_project.weight', [32, 64]);
    add('generator.embeddings_project.bias', [32]);
    for (const s of encoderParams(gen, '')) if (s.name.startsWith('encoder.')) add(`generator.${s.name}`, s.shape);
    add('generator_predictions.dense.weight', [64, 32]);
    add('generator_predictions.dense.bias', [64]);
    add('generator_predictions.LayerNorm.weight', [64]);
    add('generator_predictions.LayerNorm.bias', [64]);
    add('generator_lm_head.bias', [41]);
    const run = makeRun('electra', cfg, [[5, params]], { shapes });
    const out = tmp('gen');
    expect(exportRun({ run, out, as: 'electra-generator' })).toMatchObject({ className: 'ElectraForMaskedLM', tensors: 5 + 2 + 32 + 5 });
    const t = loadSafetensors(join(out, 'model.safetensors')).tensors;
    expect(t['electra.embeddings_project.weight'].shape).toEqual([32, 64]);
    expect(t['electra.encoder.layer.1.intermediate.dense.weight'].shape).toEqual([64, 32]);
    expect(toFloat32(t['electra.embeddings.word_embeddings.weight'])).toEqual(ck.params.get('embeddings.word_embeddings.weight'));
    expect(toFloat32(t['electra.encoder.layer.0.attention.self.query.weight'])).toEqual(params.get('generator.encoder.layer.0.attention.self.query.weight'));
    expect(t['generator_lm_head.bias'].shape).toEqual([41]);
    expect(json(join(out, 'config.json'))).toMatchObject({ architectures: ['ElectraForMaskedLM'], model_type: 'electra', embedding_size: 64, hidden_size: 32, num_attention_heads: 1, intermediate_size: 64, num_hidden_layers: 2, tie_word_embeddings: true });
  });
});

function f16Tensor(v: Float32Array, shape: number[]): SafeTensor {
  return { dtype: 'F16', shape, data: new Uint8Array(Uint16Array.from(v, (x) => f32ToF16Bits(x)).buffer) };
}
function bf16Tensor(v: Float32Array, shape: number[]): SafeTensor {
  const bits = new Uint32Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  return { dtype: 'BF16', shape, data: new Uint8Array(Uint16Array.from(bits, (b) => (b + 0x7fff + ((b >>> 16) & 1)) >>> 16).buffer) };
}

/** A copy of a fixture whose model.safetensors is replaced by `bytes`. */
function withModelBytes(name: string, bytes: Uint8Array): string {
  const dir = tmp('bad');
  cpSync(fixture(name), dir, { recursive: true });
  writeFileSync(join(dir, 'model.safetensors'), bytes);
  return dir;
}

describe('--init-from', () => {
  it('loads the encoder (and the head of the same kind) into GPU parameters; the rest stays fresh', async () => {
    const rt = await getRuntime();
    const ck = readHfCheckpoint(fixture('bert-mlm-tiny'));
    // A detection model (an RTS run) started from an MLM checkpoint.
    const p = allocParams(rt, [...encoderParams(ck.config, ''), ...detectionHeadParams(ck.config)]);
    await initParams(rt, p, 3);
    const before = await readParams(rt, p);
    const r = initFromHf(fixture('bert-mlm-tiny'), ck.config, p, rt);
    expect(r.arch).toBe('bert-mlm');
    expect(r.loaded.length).toBe(37);
    expect(r.fresh).toEqual(detectionHeadParams(ck.config).map((s) => s.name));
    expect(r.unused.sort()).toEqual(mlmHeadParams(ck.config).map((s) => s.name).sort());
    expect(describeInitFrom(r)).toMatch(/loaded 37 tensors; 4 freshly initialised \(discriminator_predictions\); 5 unused from the checkpoint \(cls\)/);
    const after = await readParams(rt, p);
    for (const n of r.loaded) expect(after.get(n), n).toEqual(ck.params.get(n));
    for (const n of r.fresh) expect(after.get(n), n).toEqual(before.get(n));
    // The same kind of head is loaded too.
    const q = allocParams(rt, [...encoderParams(ck.config, ''), ...mlmHeadParams(ck.config)]);
    expect(initFromHf(fixture('bert-mlm-tiny'), ck.config, q, rt)).toMatchObject({ fresh: [], unused: [] });
    expect(() => initFromHf(fixture('bert-mlm-tiny'), ck.config, q)).toThrow(/needs the runtime/);
    releaseParams(rt, p);
    releaseParams(rt, q);
  });

  it('a public pre-training layout (BertForPreTraining names, LayerNorm gamma/beta, pooler, NSP head, position_ids) loads', () => {
    const ck = readHfCheckpoint(fixture('bert-mlm-tiny'));
    const orig = loadSafetensors(join(fixture('bert-mlm-tiny'), 'model.safetensors')).tensors;
    const t: Record<string, SafeTensor> = {};
    for (const [k, v] of Object.entries(orig)) t[k.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta')] = v;
    t['bert.pooler.dense.weight'] = fromFloat32(new Float32Array(64 * 64), [64, 64]);
    t['bert.pooler.dense.bias'] = fromFloat32(new Float32Array(64), [64]);
    t['cls.seq_relationship.weight'] = fromFloat32(new Float32Array(2 * 64), [2, 64]);
    t['cls.seq_relationship.bias'] = fromFloat32(new Float32Array(2), [2]);
    t['cls.predictions.decoder.weight'] = orig['bert.embeddings.word_embeddings.weight'];
    t['bert.embeddings.position_ids'] = { dtype: 'I64', shape: [1, 16], data: new Uint8Array(16 * 8) };
    expect(Object.keys(t).filter((k) => k.endsWith('gamma')).length).toBe(6);
    const dir = withModelBytes('bert-mlm-tiny', encodeSafetensors(t));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...json(join(dir, 'config.json')), architectures: ['BertForPreTraining'] }));
    const host = new Map([...ck.params].map(([k, v]) => [k, new Float32Array(v.length)]));
    const r = initFromHf(dir, ck.config, host);
    expect(r.arch).toBe('bert-mlm');
    expect(r.loaded.length).toBe(42);
    expect(r.unused.sort()).toEqual(['bert.embeddings.position_ids', 'bert.pooler.dense.bias', 'bert.pooler.dense.weight', 'cls.predictions.decoder.weight', 'cls.seq_relationship.bias', 'cls.seq_relationship.weight']);
    for (const [k, v] of ck.params) expect(host.get(k), k).toEqual(v);
  });

  it('a config that disagrees with the run is refused, listing every differing field', () => {
    const ck = readHfCheckpoint(fixture('electra-disc-tiny'));
    const host = new Map<string, Float32Array>();
    const cfg = { ...ck.config, intermediateSize: 96, maxPositions: 32, hiddenAct: 'gelu_tanh' as const };
    let msg = '';
    try {
      initFromHf(fixture('electra-disc-tiny'), cfg, host);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/disagrees with the run's model config \(3 fields\)/);
    expect(msg).toMatch(/intermediateSize \(intermediate_size\): the run has 96, the checkpoint 128/);
    expect(msg).toMatch(/maxPositions \(max_position_embeddings\): the run has 32, the checkpoint 16/);
    expect(msg).toMatch(/hiddenAct \(hidden_act\): the run has "gelu_tanh", the checkpoint "gelu"/);
    // Dropout and initialisation are training choices, not the checkpoint's business.
    expect(() => initFromHf(fixture('electra-disc-tiny'), { ...ck.config, hiddenDropout: 0.3, initializerRange: 0.05 }, new Map())).not.toThrow();
  });

  it('F16 and BF16 stored checkpoints load (as float32)', () => {
    const ck = readHfCheckpoint(fixture('electra-disc-tiny'));
    const orig = loadSafetensors(join(fixture('electra-disc-tiny'), 'model.safetensors')).tensors;
    // Rounding to the stored type: half an ulp of f16 (2⁻¹¹) and bf16 (2⁻⁸), relative.
    for (const [conv, rtol] of [[f16Tensor, 2 ** -11], [bf16Tensor, 2 ** -8]] as const) {
      const tensors: Record<string, SafeTensor> = {};
      for (const [k, t] of Object.entries(orig)) tensors[k] = conv(toFloat32(t), t.shape);
      const dir = withModelBytes('electra-disc-tiny', encodeSafetensors(tensors));
      const host = new Map<string, Float32Array>();
      for (const [k, v] of ck.params) host.set(k, new Float32Array(v.length));
      const r = initFromHf(dir, ck.config, host);
      expect(r.loaded.length).toBe(41);
      for (const [k, v] of ck.params) expectClose(host.get(k)!, v, { atol: 1e-7, rtol }, `${conv.name} ${k}`);
    }
  });

  it('bad files: truncated, a header that lies about sizes, a config that disagrees with the tensors', () => {
    const ck = readHfCheckpoint(fixture('bert-mlm-tiny'));
    const bytes = new Uint8Array(readFileSync(join(fixture('bert-mlm-tiny'), 'model.safetensors')));
    const truncated = withModelBytes('bert-mlm-tiny', bytes.subarray(0, bytes.length - 100));
    expect(() => initFromHf(truncated, ck.config, new Map())).toThrow(/--init-from .*model\.safetensors: truncated: tensor '.*' ends at byte \d+ of the data, which has only \d+ bytes/);
    expect(() => loadPredictModel(truncated)).toThrow(/truncated/);
    // The header claims [41, 65] for the word embeddings, whose bytes hold [41, 64].
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLen)).toString('utf8'));
    header['bert.embeddings.word_embeddings.weight'].shape = [41, 65];
    const h = Buffer.from(JSON.stringify(header));
    const lying = new Uint8Array(8 + h.length + bytes.length - 8 - headerLen);
    new DataView(lying.buffer).setBigUint64(0, BigInt(h.length), true);
    lying.set(h, 8);
    lying.set(bytes.subarray(8 + headerLen), 8 + h.length);
    expect(() => initFromHf(withModelBytes('bert-mlm-tiny', lying), ck.config, new Map())).toThrow(/tensor 'bert\.embeddings\.word_embeddings\.weight': header says 10496 bytes but F32 \[41, 65\] needs 10660/);
    // config.json says 3 layers; the file holds 2.
    const cfgDir = tmp('cfg');
    cpSync(fixture('bert-mlm-tiny'), cfgDir, { recursive: true });
    writeFileSync(join(cfgDir, 'config.json'), JSON.stringify({ ...json(join(cfgDir, 'config.json')), num_hidden_layers: 3, hidden_size: 96, num_attention_heads: 3 }));
    let msg = '';
    try {
      initFromHf(cfgDir, ck.config, new Map());
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/sizes disagree with config\.json:\n.*bert\.embeddings\.word_embeddings\.weight: file has \[41, 64\], config\.json implies \[41, 96\]/);
    expect(msg).toMatch(/missing tensors \(16\): bert\.encoder\.layer\.2\./);
    expect(() => loadPredictModel(cfgDir)).toThrow(/sizes disagree with config\.json/);
  });
});

describe.runIf(existsSync(CLI))('export command (dist/cli.js)', () => {
  it('writes the directory; bad options exit 2, bad runs exit 1 with the reason', () => {
    const ck = readHfCheckpoint(fixture('electra-disc-tiny'));
    const run = makeRun('crts', ck.config, [[4, ck.params]]);
    const out = tmp('cli');
    const cli = (args: string[]) => spawnSync(process.execPath, [CLI, 'export', ...args], { encoding: 'utf8', timeout: 60_000 });
    const r = cli(['--run', run, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/exported step 4 of .* \(crts\) as ElectraForPreTraining: 41 tensors, vocabulary 41/);
    expect(readHfCheckpoint(out).arch).toBe('electra-discriminator');
    const bad = cli(['--run', run, '--out', out, '--as', 'gpt2']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--as gpt2 is not one of auto, bert-mlm, electra-discriminator, electra-generator, bert/);
    const noStep = cli(['--run', run, '--out', out, '--step', '9']);
    expect(noStep.status).toBe(1);
    expect(noStep.stderr).toMatch(/no checkpoint at step 9 \(checkpoints: steps 4\)/);
    expect(cli(['--out', out]).stderr).toMatch(/--run RUN is required/);
  });
});

describe('run checkpoints checked on load (predict, export)', () => {
  const withNaN = () => {
    const ck = readHfCheckpoint(fixture('bert-mlm-tiny'));
    const bad = new Map(ck.params);
    const w = bad.get('encoder.layer.0.output.dense.weight')!.slice();
    w[64 * 3 + 7] = NaN;
    bad.set('encoder.layer.0.output.dense.weight', w);
    return makeRun('mlm', ck.config, [[3, bad]]);
  };

  it('NaN weights in a run checkpoint: predict refuses, naming the tensor and the checkpoint file', () => {
    expect(() => loadPredictModel(withNaN())).toThrow(
      /step-00000003[/\\]model\.safetensors: tensor 'encoder\.layer\.0\.output\.dense\.weight' holds 1 non-finite value of 8192 \(the first, NaN, at \[1, 71\]\)/,
    );
  });

  // Red until src/io/export.ts's loadRunModel calls assertFinite (see the report of this change).
  it('NaN weights in a run checkpoint: export refuses them too', () => {
    expect(() => exportRun({ run: withNaN(), out: tmp('nan-out') })).toThrow(/model\.safetensors: tensor 'encoder\.layer\.0\.output\.dense\.weight' holds 1 non-finite value/);
  });

  it('an absurd model config in a run is refused by predict before the parameter list is built', () => {
    const ck = readHfCheckpoint(fixture('bert-mlm-tiny'));
    const root = tmp('absurd');
    const data = join(root, 'data');
    mkdirSync(data);
    tinyTokenizer().save(data);
    const run = join(root, 'run');
    mkdirSync(run);
    const cfg = { ...ck.config, numLayers: 1_000_000 };
    writeFileSync(join(run, 'config.json'), JSON.stringify({ objective: 'mlm', model: cfg, data, seed: 1 }));
    const shapes = new Map([...encoderParams(ck.config, ''), ...mlmHeadParams(ck.config)].map((s) => [s.name, s.shape]));
    const model: Record<string, SafeTensor> = {};
    for (const [k, v] of ck.params) model[k] = fromFloat32(v, shapes.get(k)!);
    saveCheckpoint(run, { step: 1, tensors: { model }, state: { config: cfg, objective: 'mlm' } });
    expect(() => loadPredictModel(run)).toThrow(/step-00000001: the model config: numLayers is 1000000, above the limit of 1024/);
  });
});

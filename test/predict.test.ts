// `predict`: the GPU forward pass of a model loaded from a Hugging Face directory
// reproduces what transformers computed for the same checkpoint and ids (fixtures from
// test/fixtures/hf/make_fixtures.py), through the library and through the CLI (--ids and
// text input); input parsing and bad input.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getRuntime, expectClose } from './harness.js';
import { encodeSafetensors, fromFloat32, loadSafetensors, toFloat32 } from '../src/io/safetensors.js';
import { writeHfCheckpoint, readHfCheckpoint } from '../src/io/hf.js';
import { WordPieceTokenizer } from '../src/data/tokenizer.js';
import { loadPredictModel, Predictor, encodeText, parseIdsLine, topK, predictionJson, predictionText, truncateInput, type PredictInput } from '../src/eval/predict.js';
import { splitInputLines } from '../src/cli/predict.js';
import { tempDir } from './tmp.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const tmp = (what: string) => tempDir(`electrolite-predict-${what}-`);
const fixture = (d: string) => fileURLToPath(new URL(`./fixtures/hf/${d}`, import.meta.url));

/**
 * A 41-token vocabulary matching the fixtures' ids: the five specials at 0..4 ([MASK] = 4,
 * as in the fixtures' second sequence), then a..z (5..30) and 0..9 (31..40). So the
 * fixture's [2, 17, 4, 3] is the text "m [MASK]" and [2, 11, 27, 5, 39, 8, 3] is "g w a 8 d".
 */
function tinyTokenizer(): WordPieceTokenizer {
  const letters = Array.from({ length: 26 }, (_, i) => String.fromCharCode(97 + i));
  const digits = Array.from({ length: 10 }, (_, i) => String(i));
  return new WordPieceTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...letters, ...digits]);
}

/** A fixture copied to a temporary directory with the tiny tokenizer beside it. */
function fixtureWithTokenizer(name: string): string {
  const dir = tmp(name);
  cpSync(fixture(name), dir, { recursive: true });
  tinyTokenizer().save(dir);
  return dir;
}

function fixtureData(name: string) {
  const inputs = JSON.parse(readFileSync(join(fixture(name), 'inputs.json'), 'utf8'));
  const expected = loadSafetensors(join(fixture(name), 'expected.safetensors')).tensors;
  const B = inputs.input_ids.length, T = inputs.input_ids[0].length;
  const batch: PredictInput[] = inputs.input_ids.map((ids: number[], b: number) => {
    const len = inputs.attention_mask[b].reduce((a: number, x: number) => a + x, 0);
    return { ids: ids.slice(0, len), types: inputs.token_type_ids[b].slice(0, len) };
  });
  return { inputs, expected, B, T, batch };
}

// Against transformers' float32 outputs: the same tolerance as test/model.test.ts (f32
// accumulation in another order through two layers and the head).
const TOL = { atol: 1e-4, rtol: 1e-4 };

describe('predict against transformers', () => {
  it('MLM: vocabulary logits at every real position and at [MASK] match transformers', async () => {
    const rt = await getRuntime();
    const dir = fixtureWithTokenizer('bert-mlm-tiny');
    const model = loadPredictModel(dir);
    expect(model.kind).toBe('mlm');
    expect(model.origin).toBe('hf');
    const { expected, T, batch } = fixtureData('bert-mlm-tiny');
    const want = toFloat32(expected.mlm_logits); // [B, T, V]
    const V = 41;
    const p = Predictor.create(rt, model);
    const all = await p.run(batch, { positions: 'all' });
    for (const [b, o] of all.entries()) {
      expect(o.positions).toEqual(batch[b].ids.map((_, i) => i));
      for (const [j, pos] of o.positions.entries()) expectClose(o.vocabLogits![j], want.subarray((b * T + pos) * V, (b * T + pos + 1) * V), TOL, `mlm logits [${b}, ${pos}]`);
    }
    // Default: only the [MASK] (id 4) position of the second sequence.
    const masked = await p.run(batch);
    expect(masked[0].positions).toEqual([]);
    expect(masked[1].positions).toEqual([2]);
    expect(masked[1].vocabLogits![0]).toEqual(all[1].vocabLogits![2]);
    // Human output: softmax top 5 (probabilities sum ≤ 1, descending).
    const top = topK(masked[1].vocabLogits![0], 5);
    expect(top.length).toBe(5);
    for (let i = 1; i < 5; i++) expect(top[i].p).toBeLessThanOrEqual(top[i - 1].p);
    expect(predictionText(model.tokenizer, 'mlm', masked[1])).toMatch(/^\[CLS\] m \[MASK\] \[SEP\]\n {2}2: \S+ 0\.\d{3}/);
    p.release();
  });

  it('detection: the logit of every real position matches transformers', async () => {
    const rt = await getRuntime();
    const dir = fixtureWithTokenizer('electra-disc-tiny');
    const model = loadPredictModel(dir);
    expect(model.kind).toBe('detection');
    const { expected, T, batch } = fixtureData('electra-disc-tiny');
    const want = toFloat32(expected.detection_logits); // [B, T]
    const p = Predictor.create(rt, model);
    const outs = await p.run(batch);
    for (const [b, o] of outs.entries()) expectClose(o.detectionLogits!, want.subarray(b * T, b * T + batch[b].ids.length), TOL, `detection logits [${b}]`);
    const j = predictionJson(model.tokenizer, 'detection', outs[1]);
    expect(j.tokens).toEqual(['[CLS]', 'm', '[MASK]', '[SEP]']);
    expect((j.logits as number[]).length).toBe(4);
    p.release();
  });
});

describe('predict input', () => {
  it('text lines become [CLS] A [SEP] (or a tab-separated pair); --ids lines are used as given', () => {
    const tok = tinyTokenizer();
    expect(encodeText(tok, 'M [MASK]')).toEqual({ ids: [2, 17, 4, 3], types: [0, 0, 0, 0] });
    expect(encodeText(tok, 'g w a 8 d').ids).toEqual([2, 11, 27, 5, 39, 8, 3]);
    expect(encodeText(tok, 'g w\ta 8')).toEqual({ ids: [2, 11, 27, 3, 5, 39, 3], types: [0, 0, 0, 0, 1, 1, 1] });
    expect(parseIdsLine('2 17 4 3')).toEqual({ ids: [2, 17, 4, 3] });
    expect(parseIdsLine('{"input_ids": [2, 5, 3], "token_type_ids": [0, 1, 1]}')).toEqual({ ids: [2, 5, 3], types: [0, 1, 1] });
    expect(() => parseIdsLine('2 x 3', 'line 4')).toThrow(/line 4: 'x' is not a token id/);
    expect(() => parseIdsLine('{"input_ids": [2, 5], "token_type_ids": [0]}')).toThrow(/2 input_ids but 1 token_type_ids/);
  });

  it('bad inputs and models are clear errors', async () => {
    const rt = await getRuntime();
    const dir = fixtureWithTokenizer('electra-disc-tiny');
    const p = Predictor.create(rt, loadPredictModel(dir));
    await expect(p.run([{ ids: [2, 41, 3] }])).rejects.toThrow(/token id 41 is outside the vocabulary \(size 41\)/);
    await expect(p.run([{ ids: Array(17).fill(5) }])).rejects.toThrow(/input 1 has 17 tokens; the model takes at most 16/);
    await expect(p.run([{ ids: [2, 3], types: [0, 2] }])).rejects.toThrow(/token type 2 is outside type_vocab_size 2/);
    p.release();
    // A bare encoder has no head to predict with.
    const bare = tmp('bare');
    const ck = readHfCheckpoint(fixture('bert-mlm-tiny'));
    writeHfCheckpoint(bare, 'bert', ck.config, ck.params);
    tinyTokenizer().save(bare);
    expect(() => loadPredictModel(bare)).toThrow(/bare encoder \(BertModel\) without an MLM or detection head/);
    // No tokenizer.
    expect(() => loadPredictModel(fixture('bert-mlm-tiny'))).toThrow(/no tokenizer \(neither tokenizer\.json nor vocab\.txt\)/);
  });
});

describe.runIf(existsSync(CLI))('predict command (dist/cli.js)', () => {
  const cli = (args: string[], input: string) => spawnSync(process.execPath, [CLI, 'predict', ...args], { input, encoding: 'utf8', timeout: 120_000 });

  it('--json --ids reproduces transformers\' logits; text input and the human output', () => {
    const dir = fixtureWithTokenizer('bert-mlm-tiny');
    const { inputs, expected, T } = fixtureData('bert-mlm-tiny');
    const lines = inputs.input_ids.map((ids: number[], b: number) => JSON.stringify({ input_ids: ids.slice(0, b === 0 ? 7 : 4), token_type_ids: inputs.token_type_ids[b].slice(0, b === 0 ? 7 : 4) }));
    const r = cli(['--model', dir, '--json', '--ids'], lines.join('\n') + '\n');
    expect(r.status, r.stderr).toBe(0);
    const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(out.length).toBe(2);
    expect(out[0]).toMatchObject({ ids: [2, 11, 27, 5, 39, 8, 3], tokens: ['[CLS]', 'g', 'w', 'a', '8', 'd', '[SEP]'], positions: [], logits: [] });
    expect(out[1].positions).toEqual([2]);
    const want = toFloat32(expected.mlm_logits).subarray((1 * T + 2) * 41, (1 * T + 3) * 41);
    expectClose(Float32Array.from(out[1].logits[0]), want, TOL, 'CLI --json logits at [MASK]');
    // The same sentence as text.
    const t = cli(['--model', dir, '--json'], 'm [MASK]\n');
    expect(t.status, t.stderr).toBe(0);
    expect(JSON.parse(t.stdout).logits).toEqual(out[1].logits);
    const h = cli(['--model', dir, '--text', 'm [MASK]'], '');
    expect(h.status, h.stderr).toBe(0);
    expect(h.stdout).toMatch(/^\[CLS\] m \[MASK\] \[SEP\]\n {2}2: (\S+ 0\.\d{3} {2}){4}\S+ 0\.\d{3}\n$/);
    const bad = cli(['--json'], '');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--model DIR is required/);
  });
});

describe('predict input lines', () => {
  it('lines end at \\n or \\r\\n; a lone \\r stays inside its line; a BOM and the final newline make no line', () => {
    expect(splitInputLines('a\r\n\nb\rc\n  \nd')).toEqual(['a', '', 'b\rc', '  ', 'd']);
    expect(splitInputLines('\uFEFFx\n')).toEqual(['x']);
    expect(splitInputLines('')).toEqual([]);
    expect(splitInputLines('\n')).toEqual(['']);
  });

  it("an over-long input is cut as transformers truncates: the end of a text, a pair's longer segment first, [SEP]s kept", () => {
    const tok = tinyTokenizer();
    const sep = tok.special.sep;
    const one = truncateInput(encodeText(tok, 'a b c d e f'), 5, sep);
    expect(tok.tokens(one.ids)).toEqual(['[CLS]', 'a', 'b', 'c', '[SEP]']);
    expect(one.types).toEqual([0, 0, 0, 0, 0]);
    const pair = truncateInput(encodeText(tok, 'a b\tc d e f g'), 8, sep);
    expect(tok.tokens(pair.ids)).toEqual(['[CLS]', 'a', 'b', '[SEP]', 'c', 'd', 'e', '[SEP]']);
    expect(pair.types).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    // --ids input is used as given, so it is simply cut.
    expect(truncateInput({ ids: [2, 5, 6, 7, 3] }, 3)).toEqual({ ids: [2, 5, 6] });
    const fits = encodeText(tok, 'a');
    expect(truncateInput(fits, 16, sep)).toBe(fits);
  });
});

describe('predict within the adapter\'s limits', () => {
  it('a parameter above maxStorageBufferBindingSize is refused before any upload, naming the model and the tensors', async () => {
    const rt = await getRuntime();
    const dir = fixtureWithTokenizer('electra-disc-tiny');
    const model = loadPredictModel(dir);
    const saved = rt.limits.maxStorageBufferBindingSize;
    rt.limits.maxStorageBufferBindingSize = 8192;
    try {
      let msg = '';
      try {
        Predictor.create(rt, model);
      } catch (e) {
        msg = (e as Error).message;
      }
      expect(msg).toMatch(new RegExp(`predict: ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: this model cannot run on this adapter \\(${process.env.ELECTROLITE_ADAPTER}\\)`));
      expect(msg).toMatch(/'embeddings\.word_embeddings\.weight' \[41, 64\] f32 is 0\.010 MiB/);
      expect(msg).toMatch(/'encoder\.layer\.1\.intermediate\.dense\.weight' \[128, 64\] f32 is 0\.031 MiB/);
      expect(msg).toMatch(/above its maxStorageBufferBindingSize of 0\.008 MiB/);
    } finally {
      rt.limits.maxStorageBufferBindingSize = saved;
    }
  });

  it('a batch whose activations exceed the binding limit runs in parts, with the same outputs', async () => {
    const rt = await getRuntime();
    const model = loadPredictModel(fixtureWithTokenizer('electra-disc-tiny'));
    const p = Predictor.create(rt, model);
    const batch: PredictInput[] = Array.from({ length: 8 }, (_, b) => ({ ids: [2, 11 + b, 27, 5, 39 - b, 8, 3] }));
    const want = await p.run(batch);
    const saved = rt.limits.maxStorageBufferBindingSize;
    // The largest parameter (the FFN weights, 32 KiB) fits; 8 × 7 tokens × 768 bytes of [B·T, 3h] do not.
    rt.limits.maxStorageBufferBindingSize = 32768;
    try {
      const got = await p.run(batch);
      expect(got.length).toBe(8);
      for (const [b, o] of got.entries()) expectClose(o.detectionLogits!, want[b].detectionLogits!, TOL, `input ${b}`);
      // One input too wide on its own is a clear error.
      rt.limits.maxStorageBufferBindingSize = 4096;
      await expect(p.run([{ ids: Array(16).fill(5) }])).rejects.toThrow(/input 1 \(16 tokens\) needs .* MiB for one activation, above this adapter's maxStorageBufferBindingSize/);
    } finally {
      rt.limits.maxStorageBufferBindingSize = saved;
      p.release();
    }
  });
});

describe.runIf(existsSync(CLI))('predict command: lines, limits, bad models (dist/cli.js)', () => {
  const cli = (args: string[], input: string, env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [CLI, 'predict', ...args], { input, encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
  const LONG = 'a b c d e f g h i j k l m n o p q r s t'; // 20 tokens + [CLS] [SEP] = 22 > 16
  const INPUT = `m [MASK]\n\ng w\r\na\rb [MASK]\n${LONG}\n   \nz [MASK]`;

  it('one output per input line, in order: blank lines, CRLF, a lone \\r, an over-long line truncated with a warning', () => {
    const dir = fixtureWithTokenizer('electra-disc-tiny');
    const r = cli(['--model', dir, '--json'], INPUT);
    expect(r.status, r.stderr).toBe(0);
    const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(out.map((o) => o.line)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(out[0].tokens).toEqual(['[CLS]', 'm', '[MASK]', '[SEP]']);
    expect(out[1]).toEqual({ line: 2, empty: true, tokens: [], ids: [], logits: [] });
    expect(out[2].tokens).toEqual(['[CLS]', 'g', 'w', '[SEP]']);
    expect(out[3].tokens).toEqual(['[CLS]', 'a', 'b', '[MASK]', '[SEP]']);
    expect(out[4].tokens).toEqual(['[CLS]', ...'abcdefghijklmn'.split(''), '[SEP]']);
    expect(out[4].truncated).toBe(22);
    expect(out[5]).toMatchObject({ line: 6, empty: true });
    expect(out[6].tokens).toEqual(['[CLS]', 'z', '[MASK]', '[SEP]']);
    expect(r.stderr).toMatch(/predict: warning: line 5 has 22 tokens, above the model's maximum of 16 \(max_position_embeddings 16\): truncated to 16/);
    // The truncated line is predicted as its first 16 tokens would be.
    const cut = cli(['--model', dir, '--json', '--text', 'a b c d e f g h i j k l m n'], '');
    expect(cut.status, cut.stderr).toBe(0);
    expectClose(Float32Array.from(out[4].logits), Float32Array.from(JSON.parse(cut.stdout).logits), TOL, 'truncated line');
    // Human output of a detection model: one line per input line, blank for blank.
    const h = cli(['--model', dir], INPUT);
    expect(h.status, h.stderr).toBe(0);
    const lines = h.stdout.split('\n');
    expect(lines.length).toBe(8); // 7 lines and the final newline
    expect(lines[1]).toBe('');
    expect(lines[5]).toBe('');
    expect(lines[6]).toMatch(/^\[CLS\] 0\.\d{3}\*? {2}z /);
  });

  it('--strict refuses an over-long line with exit 2 before any GPU work', () => {
    const dir = fixtureWithTokenizer('electra-disc-tiny');
    const r = cli(['--model', dir, '--strict'], `m [MASK]\n${LONG}\n`);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/predict: line 2 has 22 tokens, above the model's maximum of 16 \(max_position_embeddings 16\); --strict refuses it/);
    expect(r.stderr).not.toMatch(/^adapter:/m);
    expect(r.stdout).toBe('');
  });

  it('an absurd config.json is refused naming the file and field, without growing the heap', () => {
    const dir = fixtureWithTokenizer('bert-mlm-tiny');
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, num_hidden_layers: 1_000_000 }));
    // A small heap: the old loader died here of heap exhaustion (exit 134) building 16M parameter entries.
    const r = cli(['--model', dir, '--text', 'm [MASK]'], '', { NODE_OPTIONS: '--max-old-space-size=256' });
    expect(r.stderr).toMatch(/config\.json: num_hidden_layers is 1000000, above the limit of 1024 that electrolite accepts/);
    expect(r.stderr).not.toMatch(/heap|^adapter:/m);
    expect(r.status).toBe(1);
  });

  it('NaN weights are refused, naming the tensor and the file, instead of printing NaN', () => {
    const dir = fixtureWithTokenizer('bert-mlm-tiny');
    const st = join(dir, 'model.safetensors');
    const { tensors } = loadSafetensors(st);
    const name = 'bert.encoder.layer.0.output.dense.weight';
    const v = toFloat32(tensors[name]);
    v[100] = NaN;
    tensors[name] = fromFloat32(v, tensors[name].shape);
    writeFileSync(st, encodeSafetensors(tensors));
    const r = cli(['--model', dir, '--text', 'm [MASK]'], '');
    expect(r.stdout).not.toMatch(/NaN/);
    expect(r.stderr).toMatch(/model\.safetensors: tensor 'bert\.encoder\.layer\.0\.output\.dense\.weight' holds 1 non-finite value of 8192 \(the first, NaN, at \[0, 100\]\)/);
    expect(r.status).toBe(1);
  });
});

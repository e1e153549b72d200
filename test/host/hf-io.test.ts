// Hugging Face checkpoint import/export: the transformers-made fixtures import with every
// tensor accounted for; export then import is lossless; bad directories give clear errors.
import { describe, expect, it } from 'vitest';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readHfCheckpoint, writeHfCheckpoint } from '../../src/io/hf.js';
import { initFromHf } from '../../src/io/init-from.js';
import { assertFinite, encodeSafetensors, fromFloat32, loadSafetensors, readSafetensorsHeader, toFloat32, type SafeTensor } from '../../src/io/safetensors.js';
import { tempDir } from '../tmp.js';

const fixture = (d: string) => fileURLToPath(new URL(`../fixtures/hf/${d}`, import.meta.url));
const tmp = () => tempDir('electrolite-hf-');

describe('Hugging Face checkpoints', () => {
  it('imports the transformers fixtures (BERT MLM and ELECTRA discriminator) completely', () => {
    const bert = readHfCheckpoint(fixture('bert-mlm-tiny'));
    expect(bert.arch).toBe('bert-mlm');
    expect(bert.config).toMatchObject({ vocabSize: 41, hiddenSize: 64, numLayers: 2, numHeads: 2, intermediateSize: 128, maxPositions: 16 });
    expect(bert.params.get('embeddings.word_embeddings.weight')!.length).toBe(41 * 64);
    expect(bert.params.has('cls.predictions.bias')).toBe(true);
    expect(bert.params.size).toBe(42);
    const electra = readHfCheckpoint(fixture('electra-disc-tiny'));
    expect(electra.arch).toBe('electra-discriminator');
    expect(electra.params.has('discriminator_predictions.dense_prediction.weight')).toBe(true);
    expect(electra.params.size).toBe(41);
  });

  it('export then import gives identical parameters, with the names transformers expects', () => {
    for (const [d, arch] of [['bert-mlm-tiny', 'bert-mlm'], ['electra-disc-tiny', 'electra-discriminator']] as const) {
      const a = readHfCheckpoint(fixture(d));
      const out = tmp();
      writeHfCheckpoint(out, arch, a.config, a.params);
      const original = Object.keys(loadSafetensors(join(fixture(d), 'model.safetensors')).tensors).sort();
      expect(Object.keys(loadSafetensors(join(out, 'model.safetensors')).tensors).sort()).toEqual(original);
      const b = readHfCheckpoint(out);
      expect(b.config).toEqual(a.config);
      for (const [k, v] of a.params) expect(b.params.get(k), k).toEqual(v);
      const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
      expect(cfg.architectures).toEqual([arch === 'bert-mlm' ? 'BertForMaskedLM' : 'ElectraForPreTraining']);
    }
  });

  it('a config whose sizes disagree with the tensors is a clear error naming the tensors', () => {
    const dir = tmp();
    cpSync(fixture('bert-mlm-tiny'), dir, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, intermediate_size: 40 }));
    expect(() => readHfCheckpoint(dir)).toThrow(/sizes disagree with config\.json:\n.*intermediate\.dense\.weight: file has \[128, 64\], config\.json implies \[40, 64\]/);
  });

  it('missing and unexpected tensors are listed', () => {
    const dir = tmp();
    cpSync(fixture('bert-mlm-tiny'), dir, { recursive: true });
    const { tensors } = loadSafetensors(join(dir, 'model.safetensors'));
    delete tensors['bert.encoder.layer.1.output.dense.bias'];
    tensors['bert.encoder.layer.1.output.extra.weight'] = tensors['cls.predictions.bias'];
    tensors['bert.pooler.dense.bias'] = tensors['cls.predictions.bias']; // known, unused: ignored
    writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(tensors));
    let msg = '';
    try {
      readHfCheckpoint(dir);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/missing tensors \(1\): bert\.encoder\.layer\.1\.output\.dense\.bias/);
    expect(msg).toMatch(/unexpected tensors \(1\): bert\.encoder\.layer\.1\.output\.extra\.weight/);
    expect(msg).not.toMatch(/pooler/);
  });

  it('a directory without the files, or with pytorch_model.bin only, says what is wrong', () => {
    const dir = tmp();
    expect(() => readHfCheckpoint(dir)).toThrow(/no config\.json/);
    writeFileSync(join(dir, 'config.json'), '{"model_type": "bert"}');
    writeFileSync(join(dir, 'pytorch_model.bin'), '');
    expect(() => readHfCheckpoint(dir)).toThrow(/no model\.safetensors \(pytorch_model\.bin is not supported/);
  });
});

describe('Hugging Face checkpoints: sizes and values checked on load', () => {
  const withConfig = (change: Record<string, unknown>) => {
    const dir = tmp();
    cpSync(fixture('bert-mlm-tiny'), dir, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, ...change }));
    return dir;
  };
  const withTensors = (edit: (t: Record<string, SafeTensor>) => void) => {
    const dir = tmp();
    cpSync(fixture('bert-mlm-tiny'), dir, { recursive: true });
    const { tensors } = loadSafetensors(join(dir, 'model.safetensors'));
    edit(tensors);
    writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(tensors));
    return dir;
  };
  const errorOf = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as Error).message;
    }
    return '';
  };

  it('an absurd size in config.json is refused at once, naming the file and the field, before anything is built', () => {
    // 1e6 layers used to build 16 million parameter entries and die of heap exhaustion.
    const t0 = performance.now();
    const dir = withConfig({ num_hidden_layers: 1_000_000 });
    expect(() => readHfCheckpoint(dir)).toThrow(/config\.json: num_hidden_layers is 1000000, above the limit of 1024 that electrolite accepts/);
    const cfg = readHfCheckpoint(fixture('bert-mlm-tiny')).config;
    expect(() => initFromHf(dir, cfg, new Map())).toThrow(/--init-from .*config\.json: num_hidden_layers is 1000000, above the limit/);
    expect(() => readHfCheckpoint(withConfig({ vocab_size: 1e9 }))).toThrow(/config\.json: vocab_size is 1000000000, above the limit of 2097152/);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('a layer count within the limits but not what the file holds is named, with the parameter totals', () => {
    const msg = errorOf(() => readHfCheckpoint(withConfig({ num_hidden_layers: 40 })));
    expect(msg).toMatch(/model\.safetensors \(BertForMaskedLM\):/);
    expect(msg).toMatch(/num_hidden_layers is 40 in config\.json, but the file holds 2 layers \(bert\.encoder\.layer\.0–1\)/);
    expect(msg).toMatch(/config\.json implies \d+ parameters \(BertForMaskedLM\); the file holds \d+/);
    // The 608 missing tensors are counted, the list shortened.
    expect(msg).toMatch(/missing tensors \(608\): bert\.encoder\.layer\.2\.[^\n]*, … and 588 more/);
  });

  it('the header is read alone first: its sizes match what decoding the whole file gives', () => {
    const path = join(fixture('bert-mlm-tiny'), 'model.safetensors');
    const h = readSafetensorsHeader(path);
    const full = loadSafetensors(path).tensors;
    expect(Object.keys(h.tensors).sort()).toEqual(Object.keys(full).sort());
    for (const [k, t] of Object.entries(full)) expect(h.tensors[k].shape, k).toEqual(t.shape);
    // A truncated file: the same error as decoding it.
    const dir = tmp();
    const bytes = readFileSync(path);
    writeFileSync(join(dir, 'm.safetensors'), bytes.subarray(0, bytes.length - 100));
    expect(() => readSafetensorsHeader(join(dir, 'm.safetensors'))).toThrow(/m\.safetensors: truncated: tensor '.*' ends at byte \d+ of the data, which has only \d+ bytes/);
  });

  it('NaN or infinite weights are refused on load, naming the tensor, the file and the first bad value', () => {
    const nan = withTensors((t) => {
      const name = 'bert.encoder.layer.1.attention.self.query.weight';
      const v = toFloat32(t[name]);
      v[3 * 64 + 5] = NaN;
      t[name] = fromFloat32(v, t[name].shape);
    });
    expect(() => readHfCheckpoint(nan)).toThrow(
      /model\.safetensors: tensor 'bert\.encoder\.layer\.1\.attention\.self\.query\.weight' holds 1 non-finite value of 4096 \(the first, NaN, at \[3, 5\]\)/,
    );
    const cfg = readHfCheckpoint(fixture('bert-mlm-tiny')).config;
    // --init-from used to load these and blame the learning rate later.
    expect(() => initFromHf(nan, cfg, new Map())).toThrow(/--init-from .*model\.safetensors: tensor 'bert\.encoder\.layer\.1\.attention\.self\.query\.weight' holds 1 non-finite value/);
    // F16 storage: the bits of +Infinity (0x7c00) in the MLM bias.
    const inf = withTensors((t) => {
      const b = t['cls.predictions.bias'];
      const h = new Uint16Array(b.shape[0]);
      h[7] = 0x7c00;
      t['cls.predictions.bias'] = { dtype: 'F16', shape: b.shape, data: new Uint8Array(h.buffer) };
    });
    expect(() => readHfCheckpoint(inf)).toThrow(/tensor 'cls\.predictions\.bias' holds 1 non-finite value of 41 \(the first, Infinity, at index 7\)/);
  });

  it('assertFinite passes finite values and counts every bad one', () => {
    expect(() => assertFinite('w', Float32Array.of(1, -2, 3e38), 'f.safetensors')).not.toThrow();
    expect(() => assertFinite('w', Float32Array.of(1, -Infinity, NaN, 2), 'f.safetensors', [2, 2])).toThrow(/f\.safetensors: tensor 'w' holds 2 non-finite values of 4 \(the first, -Infinity, at \[0, 1\]\)/);
  });
});

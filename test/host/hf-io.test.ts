// Hugging Face checkpoint import/export: the transformers-made fixtures import with every
// tensor accounted for; export then import is lossless; bad directories give clear errors.
import { describe, expect, it } from 'vitest';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readHfCheckpoint, writeHfCheckpoint } from '../../src/io/hf.js';
import { encodeSafetensors, loadSafetensors } from '../../src/io/safetensors.js';
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

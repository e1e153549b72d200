// Token ids against the vocabulary: the manifest records each shard's largest id; loading
// refuses a shard (or a manifest) whose ids do not fit the vocabulary, checking both the
// recorded maximum and the bytes themselves (scanned on the same pass as the SHA-256), and
// the batch loader checks every sequence it reads. tokenizer.json / vocab.txt are hashed
// in the manifest, so a changed tokenizer is refused; version-1 manifests (no max ids, no
// tokenizer hashes) still load and are still scanned. `export` refuses a tokenizer whose
// size differs from the model's vocabulary, or one changed since prepare.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepare } from '../../src/data/prepare.js';
import { readManifest, writeManifest, FORMAT_VERSION, type Manifest } from '../../src/data/shards.js';
import { BatchLoader } from '../../src/data/loader.js';
import { bundledSources } from '../../src/data/bundled.js';
import { saveCheckpoint } from '../../src/io/checkpoint.js';
import { fromFloat32, type SafeTensor } from '../../src/io/safetensors.js';
import { exportRun } from '../../src/io/export.js';
import { encoderParams, mlmHeadParams, type EncoderConfig } from '../../src/model/config.js';
import { tempDir } from '../tmp.js';

const root = tempDir('data-vocab-');
const data = join(root, 'data');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

/** The largest uint16 id in a shard file. */
function maxOf(file: string): number {
  const b = readFileSync(file);
  const v = new Uint16Array(b.buffer, b.byteOffset, b.length / 2);
  let m = 0;
  for (const x of v) if (x > m) m = x;
  return m;
}

/** A copy of the prepared data, its manifest changed by `edit` and rewritten by writeManifest (a self-consistent manifest). */
function variant(name: string, edit: (m: Manifest, dir: string) => void): string {
  const dir = join(root, name);
  cpSync(data, dir, { recursive: true });
  const m = readJson(join(dir, 'manifest.json')) as Manifest;
  edit(m, dir);
  writeManifest(dir, m);
  return dir;
}

describe('token ids are checked against the vocabulary', () => {
  it('prepare records each shard\'s largest id, below the vocabulary size', async () => {
    await prepare({ corpus: bundledSources('moby-dick').slice(0, 12), out: data, vocabSize: 300, seqLen: 16, clusters: { k: 5 }, maxShardSequences: 1500 });
    const m = readManifest(data);
    expect(m.version).toBe(FORMAT_VERSION);
    expect(FORMAT_VERSION).toBeGreaterThanOrEqual(2);
    const shards = [...m.splits.train.shards, ...m.splits.validation.shards];
    expect(shards.length).toBeGreaterThan(2);
    for (const sh of shards) {
      expect(sh.maxId, sh.file).toBe(maxOf(join(data, sh.file)));
      expect(sh.maxId!).toBeLessThan(m.vocabSize);
    }
  });

  it('refuses a manifest whose vocabSize is below the recorded ids, naming the shard, the id and the size (with or without verification)', () => {
    const dir = variant('small-vocab', (m) => (m.vocabSize = 200));
    const sh = readManifest(data).splits.train.shards[0];
    const re = new RegExp(`${sh.file.replace('.', '\\.')}.*token id.* ${sh.maxId}\\b.*vocabulary of 200 tokens`);
    expect(() => readManifest(dir)).toThrow(re);
    expect(() => readManifest(dir, { verify: false })).toThrow(re);
    expect(() => new BatchLoader(dir, { batchSize: 4, seed: 1 })).toThrow(re);
  });

  it('refuses data whose bytes hold larger ids than the manifest records; the loader checks every sequence it reads', () => {
    // A lying manifest: vocabulary 200 and every recorded maximum 150, self-consistent otherwise.
    const dir = variant('lying', (m) => {
      m.vocabSize = 200;
      for (const s of [...m.splits.train.shards, ...m.splits.validation.shards]) s.maxId = 150;
    });
    const first = readManifest(data).splits.train.shards[0];
    expect(() => readManifest(dir)).toThrow(new RegExp(`${first.file.replace('.', '\\.')} holds token id ${first.maxId}, outside the vocabulary of 200 tokens`));
    // Without verification the bytes are not scanned on open, but no batch with an id ≥ 200 is ever returned.
    const L = new BatchLoader(dir, { batchSize: 8, seed: 1, verify: false });
    expect(() => {
      for (let s = 0; s < L.stepsPerEpoch; s++) L.batch(0, s);
    }).toThrow(/train-\d{5}\.bin: sequence \d+ holds token id \d+, outside the vocabulary of 200 tokens/);
    L.close();
  });

  it('refuses a shard holding an id ≥ vocabSize even when its SHA-256 matches the manifest', () => {
    const dir = variant('big-id', (m, d) => {
      const sh = m.splits.validation.shards[0];
      const f = join(d, sh.file);
      const b = readFileSync(f);
      b.writeUInt16LE(300, 2 * 17); // one id just past the vocabulary (300 tokens: 0..299)
      writeFileSync(f, b);
      sh.sha256 = sha(b);
    });
    expect(() => readManifest(dir)).toThrow(/validation-00000\.bin holds token id 300, outside the vocabulary of 300 tokens/);
  });

  it('refuses a changed tokenizer.json or vocab.txt, naming the file', () => {
    for (const [file, change] of [
      ['tokenizer.json', (s: string) => s.replace('"the"', '"teh"')],
      ['vocab.txt', (s: string) => s.replace('\nthe\n', '\nteh\n')],
    ] as const) {
      const dir = join(root, `tok-${file}`);
      cpSync(data, dir, { recursive: true });
      const p = join(dir, file);
      const before = readFileSync(p, 'utf8');
      const after = change(before);
      expect(after, file).not.toBe(before);
      writeFileSync(p, after);
      expect(() => readManifest(dir)).toThrow(new RegExp(`${file.replace('.', '\\.')} has changed since prepare`));
      expect(() => new BatchLoader(dir, { batchSize: 4, seed: 1 })).toThrow(new RegExp(file.replace('.', '\\.')));
    }
  });

  it('a version-1 manifest (no max ids, no tokenizer hashes) still loads, and its shards are still scanned', () => {
    const toV1 = (dir: string, vocabSize?: number) => {
      const m = readJson(join(data, 'manifest.json'));
      m.version = 1;
      for (const s of [...m.splits.train.shards, ...m.splits.validation.shards]) delete s.maxId;
      delete m.sha256;
      delete m.checksum;
      if (vocabSize) m.vocabSize = vocabSize;
      cpSync(data, dir, { recursive: true });
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m, null, 2) + '\n');
    };
    const ok = join(root, 'v1');
    toV1(ok);
    const m = readManifest(ok);
    expect(m.version).toBe(1);
    expect(m.splits.train.sequences).toBe(readManifest(data).splits.train.sequences);
    const a = new BatchLoader(ok, { batchSize: 8, seed: 3 }).batch(0, 1);
    expect(a).toEqual(new BatchLoader(data, { batchSize: 8, seed: 3 }).batch(0, 1));
    const bad = join(root, 'v1-small');
    toV1(bad, 200);
    expect(() => readManifest(bad)).toThrow(/train-00000\.bin holds token id \d+, outside the vocabulary of 200 tokens/);
  });

  it('export refuses a tokenizer whose size differs from the model\'s vocabulary, naming both sizes', () => {
    const makeRun = (name: string, vocabSize: number, dataDir = data) => {
      const cfg: EncoderConfig = { vocabSize, hiddenSize: 32, numLayers: 1, numHeads: 1, intermediateSize: 64, maxPositions: 16, typeVocabSize: 2, layerNormEps: 1e-12, hiddenDropout: 0.1, attentionDropout: 0.1, hiddenAct: 'gelu', preLayerNorm: false, initializerRange: 0.02, padTokenId: 0 };
      const run = join(root, name);
      mkdirSync(run);
      writeFileSync(join(run, 'config.json'), JSON.stringify({ objective: 'mlm', model: cfg, data: dataDir, seed: 1 }));
      const model: Record<string, SafeTensor> = {};
      for (const s of [...encoderParams(cfg, ''), ...mlmHeadParams(cfg)]) model[s.name] = fromFloat32(new Float32Array(s.shape.reduce((x, y) => x * y, 1)), s.shape);
      saveCheckpoint(run, { step: 5, tensors: { model }, state: { config: cfg, objective: 'mlm' } });
      return run;
    };
    expect(exportRun({ run: makeRun('run-300', 300), out: join(root, 'export-300') }).vocabSize).toBe(300);
    expect(() => exportRun({ run: makeRun('run-304', 304), out: join(root, 'export-304') })).toThrow(/tokenizer .*has 300 tokens.*model's vocabulary has 304/);
    expect(() => exportRun({ run: makeRun('run-296', 296), out: join(root, 'export-296') })).toThrow(/tokenizer .*has 300 tokens.*model's vocabulary has 296/);
    // a tokenizer changed after prepare (same size) is refused too, naming the file
    const changed = join(root, 'data-changed');
    cpSync(data, changed, { recursive: true });
    writeFileSync(join(changed, 'tokenizer.json'), readFileSync(join(changed, 'tokenizer.json'), 'utf8').replace('"the"', '"teh"'));
    expect(() => exportRun({ run: makeRun('run-changed', 300, changed), out: join(root, 'export-changed') })).toThrow(/data-changed\/tokenizer\.json has changed since prepare/);
  });
});

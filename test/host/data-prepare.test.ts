// End to end: `prepare` on real text (a quarter of the State of the Union corpus) makes
// tokenizer files, shards, manifest, unigram counts and clusters; a re-run reuses them;
// clusters group inflections of a word far more often than chance; the CLI commands.
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { prepare } from '../../src/data/prepare.js';
import { readManifest } from '../../src/data/shards.js';
import { loadClusters } from '../../src/data/clusters.js';
import { loadUnigram } from '../../src/data/stats.js';
import { bundledSources } from '../../src/data/bundled.js';
import { WordPieceTokenizer } from '../../src/data/tokenizer.js';
import { BatchLoader } from '../../src/data/loader.js';
import { tempDir } from '../tmp.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const cli = (args: string[], input?: string) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input, timeout: 120_000 });

describe('prepare', () => {
  const out = tempDir('prep-');
  const corpus = bundledSources('sotu').slice(150, 210); // 60 addresses, ~2.9 MB
  const opts = { corpus, out, vocabSize: 4000, seqLen: 64, docs: 'file' as const, valFraction: 0.1 };
  let first: Awaited<ReturnType<typeof prepare>>;

  it('makes tokenizer files, shards, manifest, unigram counts and clusters', async () => {
    first = await prepare(opts);
    for (const f of ['vocab.txt', 'tokenizer.json', 'manifest.json', 'unigram.json', 'clusters.json', 'train-00000.bin']) expect(existsSync(join(out, f)), f).toBe(true);
    const m = readManifest(out);
    expect(m.seqLen).toBe(64);
    expect(m.dtype).toBe('uint16');
    expect(m.vocabSize).toBe(4000);
    expect(first.documents).toBe(60);
    expect(first.trainDocuments + first.validationDocuments).toBe(60);
    expect(first.validationDocuments).toBeGreaterThan(0);
    expect(m.splits.train.sequences).toBe(first.sequences.train);
    expect(first.tokens.train).toBeGreaterThan(first.sequences.train * 40); // sequences are well filled
    const uni = loadUnigram(join(out, 'unigram.json'));
    expect(uni.total).toBe(first.tokens.train);
    expect(uni.counts[m.special.cls]).toBe(first.sequences.train);
    // every packed sequence starts with [CLS] and has one [SEP] before its padding
    const L = new BatchLoader(out, { batchSize: 16, seed: 3 });
    const b = L.batch(0, 0);
    for (let r = 0; r < 16; r++) {
      const row = Array.from(b.subarray(r * 64, r * 64 + 64));
      expect(row[0]).toBe(m.special.cls);
      const sep = row.indexOf(m.special.sep);
      expect(sep).toBeGreaterThan(1);
      expect(row.slice(sep + 1).every((t) => t === m.special.pad)).toBe(true);
      expect(row.slice(1, sep).every((t) => t > 4)).toBe(true);
    }
  });

  it('clusters put inflections of a word together far more often than chance', () => {
    const c = loadClusters(join(out, 'clusters.json'));
    const tok = WordPieceTokenizer.load(out);
    const uni = loadUnigram(join(out, 'unigram.json')).counts;
    expect(c.k).toBe(100);
    for (const id of Object.values(tok.special)) expect(c.assignment[id]).toBe(-1);
    expect(c.assignment.filter((x) => x < 0).length).toBe(5);
    // pairs (w, w+s), (w, w+ed), (w, w+ing) of whole-word tokens seen 5+ times
    let pairs = 0, same = 0;
    for (const [t, i] of tok.ids)
      for (const suffix of ['s', 'ed', 'ing']) {
        const j = tok.ids.get(t + suffix);
        if (!/^[a-z]{3,}$/.test(t) || j === undefined || uni[i] < 5 || uni[j] < 5) continue;
        pairs++;
        if (c.assignment[i] === c.assignment[j]) same++;
      }
    const sizes = new Array(c.k).fill(0);
    for (const a of c.assignment) if (a >= 0) sizes[a]++;
    const n = sizes.reduce((s, x) => s + x, 0);
    const chance = sizes.reduce((s, x) => s + (x / n) ** 2, 0);
    expect(pairs).toBeGreaterThan(100);
    // Measured ≈ 0.12 vs chance ≈ 0.015 on this excerpt; require 4× chance.
    expect(same / pairs).toBeGreaterThan(4 * chance);
  });

  it('a re-run with the same inputs reuses everything; an existing tokenizer can be given', async () => {
    const again = await prepare(opts);
    expect(again.reused).toBe(true);
    expect(again.sequences).toEqual(first.sequences);
    const out2 = tempDir('prep-');
    const withTok = await prepare({ ...opts, corpus: corpus.slice(0, 10), out: out2, tokenizer: out, clusters: { k: 10 } });
    expect(withTok.tokenizerReused).toBe(true);
    expect(readFileSync(join(out2, 'vocab.txt'), 'utf8')).toBe(readFileSync(join(out, 'vocab.txt'), 'utf8'));
  });

  it('rejects a sequence length below 8 and a vocabulary too small for the alphabet', async () => {
    await expect(prepare({ ...opts, seqLen: 7 })).rejects.toThrow(/--seq-len 7 is below the minimum of 8/);
    await expect(prepare({ ...opts, out: tempDir('prep-'), vocabSize: 50 })).rejects.toThrow(/vocabulary size 50 is too small for the alphabet/);
  });
});

describe('data CLI (dist/cli.js)', () => {
  it('prepare: a summary on success, exit 2 with the reason on bad options, 1 on bad input', () => {
    const dir = tempDir('cli-');
    writeFileSync(join(dir, 'c.jsonl'), Array.from({ length: 40 }, (_, i) => JSON.stringify({ text: `Document number ${i} talks about ships and whales. The sea is deep ${i}.` })).join('\n') + '\n{"oops"\n');
    const r = cli(['prepare', '--corpus', join(dir, 'c.jsonl'), '--vocab-size', '200', '--seq-len', '16', '--out', join(dir, 'out'), '--clusters', '3']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/documents\s+40 /);
    expect(r.stdout).toMatch(/MB\/s/);
    expect(r.stdout).toMatch(/skipped\s+badJsonLines 1/);
    expect(r.stdout).toMatch(/c\.jsonl:41: not valid JSON/);
    const bad = cli(['prepare', '--corpus', join(dir, 'c.jsonl'), '--vocab-size', '200', '--seq-len', '4', '--out', join(dir, 'o2')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--seq-len 4 is below the minimum of 8/);
    writeFileSync(join(dir, 'empty.txt'), '');
    const empty = cli(['prepare', '--corpus', join(dir, 'empty.txt'), '--vocab-size', '200', '--seq-len', '16', '--out', join(dir, 'o3')]);
    expect(empty.status).toBe(1);
    expect(empty.stderr).toMatch(/empty\.txt: empty/);
  });

  it('tokenize: ids per input line, tokens too with --json', () => {
    const dir = tempDir('cli-');
    new WordPieceTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'hello', 'world', '##s', ',']).save(dir);
    const r = cli(['tokenize', '--tokenizer', dir], 'Hello, worlds\n\nxyz\n');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('5 8 6 7\n\n1\n');
    const j = cli(['tokenize', '--tokenizer', dir, '--json', '--add-special'], 'hello\n');
    expect(JSON.parse(j.stdout)).toEqual({ ids: [2, 5, 3], tokens: ['[CLS]', 'hello', '[SEP]'] });
    expect(cli(['tokenize']).status).toBe(2);
  });
});

// `prepare` into an existing prepared directory: the new output is built in a temporary
// sibling and swapped in by rename only once complete, so a prepare that fails (a missing
// corpus, a --strict error while encoding, clustering that cannot be done) leaves the old
// directory byte-identical, and while a prepare runs the final path always holds the
// complete old output. A re-run with the same inputs still reuses everything, and a prepare
// killed between its two renames is repaired by the next one.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { prepare, type PrepareOptions } from '../../src/data/prepare.js';
import { readManifest } from '../../src/data/shards.js';
import { bundledSources } from '../../src/data/bundled.js';
import { tempDir } from '../tmp.js';

/** Every file under `dir` (relative path → SHA-256 of its bytes). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p, rel + e.name + '/');
      else out[rel + e.name] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir, '');
  return out;
}

/** Entries beside `out` other than `out` itself (temporary siblings a prepare may leave). */
const siblings = (out: string) => readdirSync(dirname(out)).filter((f) => f !== basename(out));

describe('prepare replaces an existing output only once the new one is complete', () => {
  const root = tempDir('prep-replace-');
  const out = join(root, 'data');
  const corpus = bundledSources('moby-dick').slice(0, 12);
  const base: PrepareOptions = { corpus, out, vocabSize: 300, seqLen: 16, clusters: { k: 5 } };
  let good: Record<string, string>;

  it('a first prepare, then a re-run with the same inputs reuses everything and writes nothing', async () => {
    expect((await prepare(base)).reused).toBe(false);
    good = snapshot(out);
    expect(Object.keys(good)).toContain('manifest.json');
    const mtime = statSync(join(out, 'manifest.json')).mtimeMs;
    const again = await prepare(base);
    expect(again.reused).toBe(true);
    expect(snapshot(out)).toEqual(good);
    expect(statSync(join(out, 'manifest.json')).mtimeMs).toBe(mtime);
    expect(siblings(out)).toEqual([]);
  });

  it('a corpus path that does not exist leaves the old directory byte-identical', async () => {
    await expect(prepare({ ...base, seqLen: 32, corpus: [...corpus, join(root, 'no-such-file.txt')] })).rejects.toThrow(/no-such-file\.txt does not exist/);
    expect(snapshot(out)).toEqual(good);
    expect(siblings(out)).toEqual([]);
  });

  it('a --strict error while encoding (tokenizer given, so encoding is the first pass) leaves it byte-identical', async () => {
    const bad = join(root, 'bad.jsonl');
    writeFileSync(bad, Array.from({ length: 30 }, (_, i) => JSON.stringify({ text: `The whale number ${i} swam. Ahab followed it.` })).join('\n') + '\n{"broken"\n');
    await expect(prepare({ ...base, corpus: [...corpus, bad], tokenizer: out, strict: true })).rejects.toThrow(/bad\.jsonl:31: not valid JSON/);
    expect(snapshot(out)).toEqual(good);
    expect(siblings(out).filter((f) => f !== 'bad.jsonl')).toEqual([]);
  });

  it('a failure after the shards are written (clustering impossible) leaves it byte-identical', async () => {
    await expect(prepare({ ...base, seqLen: 24, clusters: { k: 5, minCount: 1e9 } })).rejects.toThrow(/fewer than K = 5 clusters/);
    expect(snapshot(out)).toEqual(good);
    expect(readManifest(out).seqLen).toBe(16);
    expect(siblings(out).filter((f) => f !== 'bad.jsonl')).toEqual([]);
  });

  it('while a new prepare runs, the final path holds the complete old output; afterwards the complete new one', async () => {
    const seen: string[] = [];
    const summary = await prepare({
      ...base,
      seqLen: 32,
      onProgress: (phase) => {
        if (seen.includes(phase)) return;
        seen.push(phase);
        // Every phase, from the first word count to the clusters: the old output, intact and verifiable.
        expect(snapshot(out), phase).toEqual(good);
        expect(readManifest(out).seqLen, phase).toBe(16);
      },
    });
    expect(seen).toEqual(expect.arrayContaining(['encoding', 'clusters']));
    expect(summary.reused).toBe(false);
    expect(readManifest(out).seqLen).toBe(32);
    expect(snapshot(out)).not.toEqual(good);
    expect(siblings(out).filter((f) => f !== 'bad.jsonl')).toEqual([]);
    // and a re-run of that reuses it
    expect((await prepare({ ...base, seqLen: 32 })).reused).toBe(true);
  });

  it('after a prepare killed between its two renames, the next one puts the old output back (and drops a dead one\'s temporary directory)', async () => {
    const now = snapshot(out);
    const dead = 99_999_999; // above any pid_max: no such process
    renameSync(out, join(root, `.data.old-${dead}-x`)); // killed after moving the old output aside
    mkdirSync(join(root, `.data.prepare-${dead}-y`)); // and before finishing (or removing) its new one
    writeFileSync(join(root, `.data.prepare-${dead}-y`, 'train-00000.bin'), 'partial');
    const again = await prepare({ ...base, seqLen: 32 });
    expect(again.reused).toBe(true); // the restored output, with the same inputs
    expect(snapshot(out)).toEqual(now);
    expect(siblings(out).filter((f) => f !== 'bad.jsonl')).toEqual([]);
  });

  it('refuses an output directory holding files prepare did not write, touching nothing', async () => {
    const other = join(root, 'mixed');
    mkdirSync(other);
    writeFileSync(join(other, 'notes.txt'), 'mine\n');
    await expect(prepare({ ...base, out: other })).rejects.toThrow(/mixed.*holds notes\.txt, which prepare did not write/);
    expect(snapshot(other)).toEqual({ 'notes.txt': createHash('sha256').update('mine\n').digest('hex') });
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    await expect(prepare({ ...base, out: file })).rejects.toThrow(/a-file is not a directory/);
  });
});

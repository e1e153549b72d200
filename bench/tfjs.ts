// TensorFlow.js's WebGPU backend as a peer in the kernel benchmark, on the same kind of Dawn
// adapter as ours: `navigator.gpu` is a `webgpu` create() instance with the same flags as
// src/gpu/adapter.ts uses for our adapter (and the same featureLevel for OpenGL).
// tfjs is a devDependency: when it cannot be loaded, loadTfjs returns why, and the bench
// runs without peer figures.
import { create } from 'webgpu';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Runtime } from '../src/gpu/runtime.js';

/** TensorFlow.js's API (types only: the module is loaded at run time, and may be absent). */
export type Tf = typeof import('@tensorflow/tfjs-core');
export type TfTensor = import('@tensorflow/tfjs-core').Tensor;

export interface TfjsPeerRuntime {
  tf: Tf;
  /** Flush tfjs's queued dispatches and wait for the device (timing's sync point). */
  sync(last: TfTensor): Promise<void>;
  description: string;
  /** Throw if tfjs's device reported an error (WebGPU reports them out of band; the results would be garbage). */
  check(what: string): void;
}

// Dawn's object must stay referenced while its devices live (see src/gpu/adapter.ts).
const keepAlive: GPU[] = [];

function flagsFor(rt: Runtime): { flags: string[]; featureLevel?: 'compatibility' } {
  switch (rt.gpu.kind) {
    case 'lavapipe':
      return { flags: ['backend=vulkan', 'adapter=llvmpipe'] };
    case 'opengl':
      process.env.EGL_PLATFORM ??= 'surfaceless';
      return { flags: ['backend=opengl'], featureLevel: 'compatibility' };
    case 'swiftshader':
      return { flags: ['backend=vulkan', 'adapter=SwiftShader'] };
    default:
      return { flags: [`backend=${rt.gpu.backend}`] };
  }
}

/**
 * dist/tfjs-peer.mjs (build.mjs, from bench/peers/tfjs-entry.ts): beside the built CLI, or
 * under dist/ when this file runs from source; null when it was not built.
 */
export function tfjsPeerModule(): string | null {
  for (const rel of ['./tfjs-peer.mjs', '../dist/tfjs-peer.mjs']) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url.href;
  }
  return null;
}

/** Load tfjs (gradients and the WebGPU backend with it) on an adapter like rt's; a string says why not. */
export async function loadTfjs(rt: Runtime): Promise<TfjsPeerRuntime | string> {
  const { flags, featureLevel } = flagsFor(rt);
  const gpu = create(flags);
  keepAlive.push(gpu);
  const nav = {
    gpu: {
      requestAdapter: (o?: GPURequestAdapterOptions) => gpu.requestAdapter({ ...(o ?? {}), ...(featureLevel ? { featureLevel } : {}) } as GPURequestAdapterOptions),
      getPreferredCanvasFormat: () => 'rgba8unorm',
      get wgslLanguageFeatures() {
        return gpu.wgslLanguageFeatures;
      },
    },
  };
  // Node 20 has no navigator; newer Nodes have one without gpu. tfjs checks it at import.
  Object.defineProperty(globalThis, 'navigator', { value: nav, configurable: true, writable: true });
  // tfjs may print greetings on stdout; keep stdout clean for --json.
  const log = console.log;
  console.log = (...a: unknown[]) => console.error(...a);
  try {
    const bundle = tfjsPeerModule();
    if (!bundle) return 'tfjs not available: dist/tfjs-peer.mjs was not built (the devDependencies are not installed)';
    const tf = (await import(bundle)) as unknown as Tf;
    if (!(await tf.setBackend('webgpu'))) return 'tfjs: the webgpu backend did not initialise';
    await tf.ready();
    const b = tf.backend() as { device?: GPUDevice; commandEncoder?: unknown; submitQueue?: () => void; endComputePassEncoder?: () => void };
    const dev = b.device;
    const sync = async (last: TfTensor) => {
      if (dev && typeof b.submitQueue === 'function' && typeof b.endComputePassEncoder === 'function') {
        b.endComputePassEncoder.call(b);
        if (b.commandEncoder) b.submitQueue.call(b);
        await dev.queue.onSubmittedWorkDone();
      } else {
        await last.data();
      }
    };
    const errors: string[] = [];
    if (dev) dev.onuncapturederror = (ev: GPUUncapturedErrorEvent) => void errors.push(ev.error.message);
    const check = (what: string) => {
      if (errors.length) throw new Error(`tfjs peer: ${what}: the device reported ${errors.length} error(s), the first: ${errors[0].split('\n')[0]}`);
    };
    const info = (dev as unknown as { adapterInfo?: GPUAdapterInfo })?.adapterInfo;
    return { tf, sync, check, description: `tfjs ${tf.getBackend()} on ${info?.description || info?.architecture || flags.join(',')}` };
  } catch (e) {
    return `tfjs not available: ${(e as Error).message.split('\n')[0]}`;
  } finally {
    console.log = log;
  }
}

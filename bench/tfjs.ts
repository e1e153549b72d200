// TensorFlow.js's WebGPU backend as a peer in the kernel benchmark, on the same kind of Dawn
// adapter as ours: `navigator.gpu` is a `webgpu` create() instance with the same flags as
// src/gpu/adapter.ts uses for our adapter (and the same featureLevel for OpenGL).
// tfjs is a devDependency: when it cannot be loaded, loadTfjs returns why, and the bench
// runs without peer figures.
import { create } from 'webgpu';
import type { Runtime } from '../src/gpu/runtime.js';

/** The parts of @tensorflow/tfjs-core the peers use (typed loosely: it is optional). */
export interface TfTensor {
  dispose(): void;
  data(): Promise<ArrayLike<number>>;
}
export interface Tf {
  tensor(values: ArrayLike<number>, shape: number[], dtype?: 'float32'): TfTensor;
  matMul(a: TfTensor, b: TfTensor, transposeA?: boolean, transposeB?: boolean): TfTensor;
  add(a: TfTensor, b: TfTensor): TfTensor;
  sum(x: TfTensor, axis?: number): TfTensor;
  mul(a: TfTensor, b: TfTensor | number): TfTensor;
  softmax(x: TfTensor, dim?: number): TfTensor;
  tidy<T>(f: () => T): T;
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  backend(): unknown;
  getBackend(): string;
  env(): { set(flag: string, value: unknown): void };
}

export interface TfjsPeerRuntime {
  tf: Tf;
  /** Flush tfjs's queued dispatches and wait for the device (timing's sync point). */
  sync(last: TfTensor): Promise<void>;
  description: string;
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

/** Load tfjs-core + the WebGPU backend on an adapter like rt's; a string says why not. */
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
    const core = '@tensorflow/tfjs-core', backend = '@tensorflow/tfjs-backend-webgpu';
    const tf = (await import(core)) as unknown as Tf;
    await import(backend);
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
    const info = (dev as unknown as { adapterInfo?: GPUAdapterInfo })?.adapterInfo;
    return { tf, sync, description: `tfjs ${tf.getBackend()} on ${info?.description || info?.architecture || flags.join(',')}` };
  } catch (e) {
    return `tfjs not available: ${(e as Error).message.split('\n')[0]}`;
  } finally {
    console.log = log;
  }
}

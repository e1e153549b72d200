// A WebGPU device opened from an adapter, whoever supplied the adapter: Dawn's Node bindings
// (src/gpu/adapter.ts: lavapipe, llvmpipe through OpenGL, SwiftShader, a real GPU) or a
// browser's `navigator.gpu` (acquireBrowserDevice). Nothing here touches Node, so the web
// page (src/web/) and the CLI open devices the same way: the same features asked for, the
// same limits raised to what the adapter allows, the same capabilities derived.

/** Which kind of adapter a device is on: kernels pick CPU-friendly variants on the CPU ones. */
export type DeviceKind = 'gpu' | 'lavapipe' | 'opengl' | 'swiftshader';

/** The native API under Dawn; 'webgpu' in a browser, which does not say. */
export type Backend = 'vulkan' | 'metal' | 'd3d12' | 'opengl' | 'webgpu';

/** Adapters that run on the CPU (llvmpipe through Vulkan or OpenGL, SwiftShader): kernels pick CPU-friendly variants there. */
export function isCpuAdapter(kind: DeviceKind | 'auto'): boolean {
  return kind === 'lavapipe' || kind === 'opengl' || kind === 'swiftshader';
}

/** What the rest of the code may rely on; every feature is optional. */
export interface Capabilities {
  f16: boolean;
  subgroups: boolean;
  timestamps: boolean;
  /** Subgroup size range reported by the adapter (0 when subgroups are absent). */
  subgroupMinSize: number;
  subgroupMaxSize: number;
}

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
}

export interface AcquiredDevice {
  /** Which kind of adapter this is: 'gpu', 'lavapipe', 'opengl' or 'swiftshader'. */
  kind: DeviceKind;
  backend: Backend;
  featureLevel: 'core' | 'compatibility';
  adapter: AdapterDescription;
  device: GPUDevice;
  features: string[];
  caps: Capabilities;
  limits: Record<string, number>;
  /** Candidates tried before this one and why they failed (empty when the first worked). */
  skipped: { kind: string; reason: string }[];
}

const WANTED_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query'] as const;

// Limits raised from WebGPU's defaults to whatever the adapter allows.
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBufferBindingSize',
  'maxBindGroups',
  'maxImmediateSize',
] as const;

/**
 * WebGPU's default limits for the resources electrolite's kernels use: what a browser grants
 * every adapter, and what the page's browser tests run the kernel check and every objective's
 * training under (test/browser/web.test.ts). An adapter below one of them (a compatibility-mode
 * adapter may be) is refused by the page with the limit named.
 */
export const TESTED_LIMITS: Readonly<Record<string, number>> = {
  maxStorageBuffersPerShaderStage: 8,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBufferBindingSize: 134217728,
  maxBufferSize: 268435456,
  maxBindGroups: 4,
};

/** The limits of `limits` below TESTED_LIMITS, each with what it has and what is needed. */
export function limitsBelowTested(limits: Record<string, number>): { limit: string; has: number; needs: number }[] {
  return Object.entries(TESTED_LIMITS)
    .filter(([k, need]) => !(limits[k] >= need))
    .map(([limit, needs]) => ({ limit, has: limits[limit], needs }));
}

export function describeAdapter(adapter: GPUAdapter): AdapterDescription {
  const i = adapter.info;
  return {
    vendor: i.vendor,
    architecture: i.architecture,
    device: i.device,
    description: i.description,
    isFallbackAdapter: Boolean((i as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter),
  };
}

export function isSoftware(d: AdapterDescription): boolean {
  const s = `${d.vendor} ${d.architecture} ${d.device} ${d.description}`.toLowerCase();
  return d.isFallbackAdapter || s.includes('llvmpipe') || s.includes('swiftshader') || s.includes('software');
}

/** How an adapter was found: its kind, backend and feature level. */
export interface AdapterOrigin {
  kind: DeviceKind;
  backend: Backend;
  featureLevel: 'core' | 'compatibility';
}

/** Open the device: the wanted features the adapter has, the raised limits, the capabilities. */
export async function openDevice(o: AdapterOrigin, adapter: GPUAdapter, skipped: { kind: string; reason: string }[]): Promise<AcquiredDevice> {
  const features = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  const adapterLimits = adapter.limits as unknown as Record<string, number>;
  for (const k of RAISED_LIMITS) if (typeof adapterLimits[k] === 'number') requiredLimits[k] = adapterLimits[k];
  const device = await adapter.requestDevice({
    label: `electrolite-${o.kind}`,
    requiredFeatures: features as GPUFeatureName[],
    requiredLimits,
  });
  const limits: Record<string, number> = {};
  for (const k in device.limits) limits[k] = (device.limits as unknown as Record<string, number>)[k];
  const info = adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  const has = (f: string) => device.features.has(f);
  return {
    kind: o.kind,
    backend: o.backend,
    featureLevel: o.featureLevel,
    adapter: describeAdapter(adapter),
    device,
    features: [...device.features].sort(),
    caps: {
      f16: has('shader-f16'),
      subgroups: has('subgroups'),
      timestamps: has('timestamp-query'),
      subgroupMinSize: has('subgroups') ? info.subgroupMinSize ?? 0 : 0,
      subgroupMaxSize: has('subgroups') ? info.subgroupMaxSize ?? 0 : 0,
    },
    limits,
    skipped,
  };
}

/**
 * The device of a browser's WebGPU (`navigator.gpu`): a software adapter (SwiftShader in
 * headless Chromium) counts as 'swiftshader', anything else as 'gpu'. Throws with what is
 * missing when the browser has no WebGPU or no adapter.
 */
export async function acquireBrowserDevice(gpu: GPU | undefined): Promise<AcquiredDevice> {
  if (!gpu) throw new Error('this browser has no WebGPU (navigator.gpu is undefined): use a browser that supports it (Chrome or Edge 113+, Safari 26+, Firefox 141+ on Windows), over https or localhost');
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('WebGPU is present but gave no adapter (it may be disabled for this GPU or blocked by the browser)');
  const kind: DeviceKind = isSoftware(describeAdapter(adapter)) ? 'swiftshader' : 'gpu';
  const compat = (adapter as unknown as { featureLevel?: string }).featureLevel === 'compatibility';
  return openDevice({ kind, backend: 'webgpu', featureLevel: compat ? 'compatibility' : 'core' }, adapter, []);
}

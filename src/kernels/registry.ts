// Each kernel module lists the shader variants it can build, so that one test compiles
// every shader in shaders/ with every feature variant, even kernels no other test reaches.
import type { KernelSignature, ShaderSpec } from '../gpu/pipelines.js';

export interface KernelVariant {
  sig: KernelSignature;
  spec: ShaderSpec;
}

const variants: KernelVariant[] = [];

export function registerVariants(...v: KernelVariant[]): void {
  variants.push(...v);
}

export function registeredVariants(): readonly KernelVariant[] {
  return variants;
}

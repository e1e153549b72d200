// Two vitest projects run the same tests on the two CPU adapters: lavapipe (Dawn's
// Vulkan path, core feature level, f16 + subgroups) and llvmpipe through OpenGL
// (compatibility level, no extras). ELECTROLITE_ADAPTER selects the adapter per project.
// A third runs the kernels that use subgroups, and whole training trajectories, on lavapipe
// with subgroups of 4 instead of 8 (LP_NATIVE_VECTOR_WIDTH=128): GPUs have 32 or 64, and
// a kernel that silently assumed 8 would pass the first two.
import { defineConfig } from 'vitest/config';
// @ts-expect-error build.mjs is plain JavaScript without type declarations
import { shaderModuleSource } from './build.mjs';

const shaders = {
  name: 'virtual-shaders',
  resolveId(id: string) {
    return id === 'virtual:shaders' ? '\0virtual:shaders' : undefined;
  },
  load(id: string) {
    return id === '\0virtual:shaders' ? shaderModuleSource() : undefined;
  },
};

const common = {
  include: ['test/**/*.test.ts'],
  // Forks, not threads: native GL state and env vars must be per process.
  pool: 'forks' as const,
  // Mesa compiles shaders on first dispatch (seconds on a cold cache).
  testTimeout: 120_000,
  hookTimeout: 120_000,
};

// Subgroup tiles of every matmul shape and layout, attention (its products on those tiles),
// the row kernels' subgroup layout, and the PyTorch trajectories end to end.
const SUBGROUP_SIZE_TESTS = ['test/matmul.test.ts', 'test/attention.test.ts', 'test/reduce.test.ts', 'test/layernorm.test.ts', 'test/softmax.test.ts', 'test/trajectory.test.ts'];

export default defineConfig({
  plugins: [shaders],
  test: {
    maxWorkers: 2,
    projects: [
      {
        plugins: [shaders],
        test: { ...common, name: 'lavapipe', env: { ELECTROLITE_ADAPTER: 'lavapipe', ELECTROLITE_AUTOTUNE: '0', XDG_RUNTIME_DIR: '/tmp' } },
      },
      {
        plugins: [shaders],
        test: {
          ...common,
          name: 'opengl',
          env: { ELECTROLITE_ADAPTER: 'opengl', ELECTROLITE_AUTOTUNE: '0', EGL_PLATFORM: 'surfaceless', XDG_RUNTIME_DIR: '/tmp' },
          // Pure host-side tests (no GPU) and the browser's (its own WebGPU, not Dawn's) need not run twice.
          exclude: ['test/host/**', 'test/browser/**'],
        },
      },
      {
        plugins: [shaders],
        test: {
          ...common,
          name: 'lavapipe-sg4',
          include: SUBGROUP_SIZE_TESTS,
          env: { ELECTROLITE_ADAPTER: 'lavapipe', ELECTROLITE_AUTOTUNE: '0', XDG_RUNTIME_DIR: '/tmp', LP_NATIVE_VECTOR_WIDTH: '128' },
        },
      },
    ],
  },
});

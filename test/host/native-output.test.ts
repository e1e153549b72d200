// The relay that keeps Dawn's native log lines off the terminal (src/cli/native-output.ts):
// Dawn's messages, as dawn.node prints them, are replaced once each by a plain line; every
// other line, Node's own stack traces among them, and partial progress lines pass unchanged.
import { describe, expect, it } from 'vitest';
import { NativeLogFilter } from '../../src/cli/native-output.js';
import { groupAttempts } from '../../src/gpu/adapter.js';

const DAWN_VULKAN =
  "Warning: Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file: No such file or directory\n" +
  '    at operator() (/home/runner/work/node-webgpu/node-webgpu/third_party/dawn/src/dawn/native/vulkan/BackendVk.cpp:368)\n\n';
const DAWN_LIMITS =
  'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 90 to 16 to fit dynamic offset allocation limit.\n' +
  'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 80 to 16 to fit dynamic offset allocation limit.\n';

/** Everything the filter writes for these chunks, then its end. */
function run(...chunks: string[]): string {
  const f = new NativeLogFilter();
  return chunks.map((c) => f.push(c)).join('') + f.end();
}

describe('NativeLogFilter', () => {
  it("replaces Dawn's messages, with its build machine's paths, by one plain line each, once", () => {
    const out = run(DAWN_VULKAN, DAWN_VULKAN, DAWN_LIMITS, DAWN_LIMITS, 'adapter: opengl (…)\n');
    expect(out).not.toMatch(/BackendVk\.cpp|artificially reduced|^Warning:|\/home\/runner/m);
    expect(out.match(/Dawn could not load the Vulkan loader \(libvulkan\.so\.1: cannot open shared object file: No such file or directory\)/g)).toHaveLength(1);
    expect(out.match(/dynamic-offset buffers per pipeline layout to 16; electrolite uses none/g)).toHaveLength(1);
    expect(out).toMatch(/ELECTROLITE_DEBUG=1 shows Dawn's own messages/);
    expect(out.endsWith('adapter: opengl (…)\n')).toBe(true);
  });

  it('finds a message split across chunks, and an unknown one by its C++ backtrace', () => {
    const split = [DAWN_VULKAN.slice(0, 5), DAWN_VULKAN.slice(5, 60), DAWN_VULKAN.slice(60)];
    expect(run(...split, 'next\n')).toMatch(/^electrolite: note: Dawn could not load the Vulkan loader[^\n]*\nnext\n$/);
    const unknown = 'Warning: something odd\n    at Foo (/build/dawn/src/dawn/native/Device.cpp:12)\n\nafter\n';
    expect(run(unknown)).toBe("electrolite: note: Dawn (the native WebGPU library) reported: something odd (ELECTROLITE_DEBUG=1 shows Dawn's own messages, with its source locations)\nafter\n");
  });

  it("passes every other line unchanged: ours, Node's stack traces, progress redrawn with \\r", () => {
    const node = 'Error: boom\n    at main (file:///work/dist/cli.js:10:5)\n    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)\n';
    expect(run(node)).toBe(node);
    expect(run('electrolite: no such file\n', 'Warning: from someone else\n', 'x\n')).toBe('electrolite: no such file\nWarning: from someone else\nx\n');
    // A partial line that cannot start a Dawn message is written at once.
    const f = new NativeLogFilter();
    expect(f.push('\r\x1b[Kstep 1/10')).toBe('\r\x1b[Kstep 1/10');
    expect(f.push('\r\x1b[Kstep 2/10')).toBe('\r\x1b[Kstep 2/10');
    expect(f.push(' done\nWarn')).toBe(' done\n');
    expect(f.holding).toBe(true);
    expect(f.idle()).toBe('Warn');
    expect(f.push('ing: not Dawn after all\n')).toBe('ing: not Dawn after all\n');
  });
});

describe('adapter attempts', () => {
  it('one reason is said once for every adapter it applies to', () => {
    const r = 'the Vulkan loader (libvulkan.so.1) is not installed';
    expect(groupAttempts([{ kind: 'gpu', reason: r }, { kind: 'lavapipe', reason: r }, { kind: 'opengl', reason: 'no EGL' }])).toEqual([
      { kinds: ['gpu', 'lavapipe'], reason: r },
      { kinds: ['opengl'], reason: 'no EGL' },
    ]);
  });
});

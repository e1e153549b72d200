// Host twin of shaders/dropout.wgsl: the exact keep mask (bit-identical Philox draws).
import { philox4x32_10 } from './rng.js';

export const DROPOUT_TAG = 0xd809;

/** keep[i] = 1 when element i survives dropout at (seed, step, stream). */
export function refDropoutKeep(n: number, rate: number, seed: number, step: number, stream: number): Uint8Array {
  const threshold = Math.min(Math.floor(rate * 2 ** 32), 2 ** 32 - 1);
  const keep = new Uint8Array(n);
  for (let q = 0; q * 4 < n; q++) {
    const bits = threshold === 0 ? [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff] : philox4x32_10([q, step, stream, DROPOUT_TAG], [seed, 0]);
    for (let k = 0; k < 4 && q * 4 + k < n; k++) keep[q * 4 + k] = bits[k] >>> 0 >= threshold ? 1 : 0;
  }
  return keep;
}

/** out = keep ? x / (1 − rate) (in f32, as the kernel) : 0. */
export function refDropout(x: ArrayLike<number>, rate: number, seed: number, step: number, stream: number): Float32Array {
  const keep = refDropoutKeep(x.length, rate, seed, step, stream);
  const scale = Math.fround(rate === 0 ? 1 : 1 / (1 - rate));
  return Float32Array.from({ length: x.length }, (_, i) => (keep[i] ? Math.fround(x[i] * scale) : 0));
}

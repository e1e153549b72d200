// A seeded stream of uniform numbers from the project's Philox4x32-10 (host twin of the
// GPU generator), for shuffles, initialisations and sampling in data preparation.
import { philox4x32_10 } from '../kernels/ref/rng.js';

export class PhiloxStream {
  private counter = 0;
  private buf: number[] = [];
  constructor(readonly seed: number, readonly stream: number) {}

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    if (!this.buf.length) this.buf = philox4x32_10([this.counter++ >>> 0, this.stream >>> 0, 0, 0], [this.seed >>> 0, 0x6c757374]);
    return this.buf.pop()!;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    return ((this.u32() >>> 5) * 67108864 + (this.u32() >>> 6)) / 9007199254740992;
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
  }
}

// Kernel test harness: one runtime per test file on the adapter chosen by
// ELECTROLITE_ADAPTER (set per vitest project), seeded random inputs, and comparison of
// GPU results with float64 references, reporting max abs / rel error against a tolerance.
import { Runtime } from '../src/gpu/runtime.js';
import { SHADER_SOURCES } from '../src/kernels/sources.js';

let runtime: Promise<Runtime> | null = null;

/** The shared runtime for this test file (adapter from ELECTROLITE_ADAPTER). */
export function getRuntime(): Promise<Runtime> {
  runtime ??= Runtime.create({ sources: SHADER_SOURCES });
  return runtime;
}

/** mulberry32: small, fast, seeded; good enough for test inputs. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n values uniform in [lo, hi), seeded. */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

/** n values from N(0, std²), seeded (Box–Muller). */
export function randomNormal(n: number, seed: number, std = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(r(), 1e-12), v = r();
    const m = std * Math.sqrt(-2 * Math.log(u));
    out[i] = m * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = m * Math.sin(2 * Math.PI * v);
  }
  return out;
}

export function randomInt(n: number, seed: number, lo: number, hiExclusive: number): Int32Array {
  const r = rng(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + Math.floor(r() * (hiExclusive - lo));
  return out;
}

export interface Tolerance {
  /** Pass when |a - e| <= atol + rtol·|e| for every element. */
  atol: number;
  rtol: number;
}

export interface Comparison {
  maxAbs: number;
  maxRel: number;
  worstIndex: number;
  ok: boolean;
}

export function compare(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance): Comparison {
  if (actual.length !== expected.length) throw new Error(`compare: lengths differ (${actual.length} vs ${expected.length})`);
  let maxAbs = 0, maxRel = 0, worstIndex = -1, ok = true, worstExcess = -Infinity;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    const abs = Math.abs(a - e);
    if (Number.isNaN(a) !== Number.isNaN(e) || (!Number.isFinite(a) && a !== e)) {
      ok = false;
      worstIndex = i;
      maxAbs = Infinity;
      break;
    }
    if (Number.isNaN(a)) continue;
    const rel = abs / Math.max(Math.abs(e), 1e-30);
    maxAbs = Math.max(maxAbs, abs);
    if (Math.abs(e) > tol.atol) maxRel = Math.max(maxRel, rel);
    const excess = abs - (tol.atol + tol.rtol * Math.abs(e));
    if (excess > worstExcess) {
      worstExcess = excess;
      worstIndex = i;
    }
    if (excess > 0) ok = false;
  }
  return { maxAbs, maxRel, worstIndex, ok };
}

/** Throw with the max errors and the worst element when outside tolerance. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance, what: string): Comparison {
  const c = compare(actual, expected, tol);
  if (!c.ok) {
    const i = c.worstIndex;
    throw new Error(
      `${what}: outside tolerance (atol ${tol.atol}, rtol ${tol.rtol}): max abs err ${c.maxAbs.toExponential(3)}, ` +
        `max rel err ${c.maxRel.toExponential(3)}; worst at [${i}]: got ${actual[i]}, expected ${expected[i]}`,
    );
  }
  return c;
}

/** Central finite difference of a scalar function of x, at every element. */
export function finiteDifference(f: (x: Float64Array) => number, x: Float64Array, eps = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    x[i] = v + eps;
    const up = f(x);
    x[i] = v - eps;
    const down = f(x);
    x[i] = v;
    g[i] = (up - down) / (2 * eps);
  }
  return g;
}

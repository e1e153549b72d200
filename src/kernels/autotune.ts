// Per-adapter autotuning: try candidate configurations of a kernel, keep the fastest, and
// remember it on disk, keyed by adapter + kernel + shape class (CPU adapters and GPUs want
// very different tiles; see shaders/matmul.wgsl).
//
// Cache file: $ELECTROLITE_CACHE_DIR/autotune.json, else ~/.cache/electrolite/autotune.json.
// Writes are atomic (temporary file + rename) and merge with entries other processes wrote;
// an unreadable or corrupt file is ignored with a warning (and replaced on the next write).
// ELECTROLITE_AUTOTUNE=0 disables tuning (every request gets its fallback); under vitest it
// is off unless ELECTROLITE_AUTOTUNE=1, so tests stay deterministic and fast.
import { mkdirSync, readFileSync, renameSync, writeFileSync, unlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Runtime, Op } from '../gpu/runtime.js';

export interface AutotuneOptions {
  /** Default: on, unless ELECTROLITE_AUTOTUNE is 0/off/false, or under vitest without ELECTROLITE_AUTOTUNE=1. */
  enabled?: boolean;
  /** Default: see defaultCacheFile(). */
  cacheFile?: string;
  /** Where choices are kept instead of a cache file (the web page: localStorage). */
  store?: AutotuneStore;
  /** Receives progress lines (default: none). */
  log?: (line: string) => void;
}

export interface TuneRequest<T> {
  kernel: string;
  /** Class of shapes that share a choice, e.g. 'NN.f32.512x512x512'. */
  shapeClass: string;
  candidates: readonly T[];
  /** Returned when tuning is disabled. */
  fallback: T;
  /** Milliseconds per launch of a candidate (lower is better); throwing rules it out. */
  measure(candidate: T, bestSoFarMs: number): Promise<number>;
}

export interface TuneResult<T> {
  choice: T;
  source: 'disabled' | 'memory' | 'cache' | 'measured';
  /** Per-candidate times (ms; null = failed or abandoned) when measured now. */
  timings?: (number | null)[];
}

export interface CacheEntry {
  choice: unknown;
  ms?: number;
  when?: string;
}

export interface CacheFile {
  version: 1;
  entries: Record<string, CacheEntry>;
}

/** Where tuned choices persist: a cache file (fileStore, the default) or the browser's storage. */
export interface AutotuneStore {
  /** Names the store in memo keys and messages. */
  name: string;
  read(): CacheFile;
  write(key: string, entry: CacheEntry): void;
}

/** A cache's text as a CacheFile; throws on another layout. */
export function parseCache(text: string): CacheFile {
  const parsed = JSON.parse(text) as CacheFile;
  if (parsed?.version !== 1 || typeof parsed.entries !== 'object' || parsed.entries === null || Array.isArray(parsed.entries)) throw new Error('unexpected layout');
  return parsed;
}

/** The cache file (atomic writes merged with other processes'; see the header). */
export function fileStore(file: string): AutotuneStore {
  return { name: file, read: () => readCache(file), write: (key, entry) => writeEntry(file, key, entry) };
}

let defaults: AutotuneOptions = {};
/** Where choices persist for the whole process when no option says (setAutotuneStore); else the cache file. */
let processStore: AutotuneStore | null = null;

/** Keep tuned choices in `store` (the web page: localStorage) instead of the cache file, process-wide; null restores the file. */
export function setAutotuneStore(store: AutotuneStore | null): void {
  processStore = store;
  memo.clear();
}

/** Change the process-wide defaults (tests; the CLI's --no-autotune). */
export function setAutotuneDefaults(opts: AutotuneOptions): void {
  defaults = { ...opts };
  memo.clear();
}

export function autotuneEnabled(opts: AutotuneOptions = {}): boolean {
  const o = opts.enabled ?? defaults.enabled;
  if (o !== undefined) return o;
  const env = (process.env.ELECTROLITE_AUTOTUNE ?? '').toLowerCase();
  if (['0', 'off', 'false', 'no'].includes(env)) return false;
  if (['1', 'on', 'true', 'yes'].includes(env)) return true;
  return !process.env.VITEST;
}

export function defaultCacheFile(): string {
  const dir = process.env.ELECTROLITE_CACHE_DIR || join(homedir(), '.cache', 'electrolite');
  return join(dir, 'autotune.json');
}

/** What identifies an adapter for tuning purposes. */
export function adapterKey(rt: Runtime): string {
  const a = rt.gpu.adapter;
  return [rt.gpu.kind, a.vendor, a.architecture, a.device, a.description].join('/');
}

/** Candidates within this factor of the fastest first measurement are measured again... */
const CONTENDER_RATIO = 1.5;
/** ...at most this many of them... */
const MAX_CONTENDERS = 4;
/** ...this many more times each, interleaved. */
const CONFIRM_ROUNDS = 2;

const memo = new Map<string, Promise<TuneResult<unknown>>>();
const warned = new Set<string>();

function readCache(file: string): CacheFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { version: 1, entries: {} };
  }
  try {
    return parseCache(text);
  } catch (e) {
    if (!warned.has(file)) {
      warned.add(file);
      process.emitWarning(`autotune cache ${file} is unreadable (${(e as Error).message}); ignoring it (it will be rewritten)`);
    }
    return { version: 1, entries: {} };
  }
}

function writeEntry(file: string, key: string, entry: CacheEntry): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    const current = readCache(file); // merge with what other processes wrote
    current.entries[key] = entry;
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    writeFileSync(tmp, JSON.stringify(current, null, 1));
    try {
      renameSync(tmp, file);
    } catch (e) {
      try { unlinkSync(tmp); } catch { /* already gone */ }
      throw e;
    }
  } catch (e) {
    process.emitWarning(`autotune: cannot write ${file}: ${(e as Error).message}`);
  }
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The best candidate for this adapter, kernel and shape class: from memory, else from the
 * cache file (if it is still one of the candidates), else measured now and cached.
 */
export function autotune<T>(rt: Runtime, req: TuneRequest<T>, opts: AutotuneOptions = {}): Promise<TuneResult<T>> {
  if (!autotuneEnabled(opts)) return Promise.resolve({ choice: req.fallback, source: 'disabled' });
  const store = opts.store ?? defaults.store ?? processStore ?? fileStore(opts.cacheFile ?? defaults.cacheFile ?? defaultCacheFile());
  const key = `${adapterKey(rt)}|${req.kernel}|${req.shapeClass}`;
  const memoKey = `${store.name}|${key}`;
  let p = memo.get(memoKey) as Promise<TuneResult<T>> | undefined;
  if (p) return p.then((r) => ({ ...r, source: 'memory' as const, timings: undefined }));
  p = (async (): Promise<TuneResult<T>> => {
    const cached = store.read().entries[key];
    const hit = cached && req.candidates.find((c) => same(c, cached.choice));
    if (hit !== undefined) return { choice: hit, source: 'cache' };
    const log = opts.log ?? defaults.log;
    log?.(`autotune ${req.kernel} ${req.shapeClass}: measuring ${req.candidates.length} candidates`);
    const timings: (number | null)[] = [];
    let best = -1;
    for (let i = 0; i < req.candidates.length; i++) {
      try {
        const ms = await req.measure(req.candidates[i], best >= 0 ? (timings[best] as number) : Infinity);
        timings.push(Number.isFinite(ms) ? ms : null);
        if (Number.isFinite(ms) && (best < 0 || ms < (timings[best] as number))) best = i;
      } catch (e) {
        timings.push(null);
        log?.(`  candidate ${JSON.stringify(req.candidates[i])} failed: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    if (best < 0) throw new Error(`autotune ${req.kernel} ${req.shapeClass}: every candidate failed on this adapter`);
    // Confirmation rounds: the close contenders are measured again, interleaved, keeping each
    // one's fastest time. On a shared machine a load burst during one candidate's only
    // measurement (or a quiet spell during another's) otherwise decides the choice.
    const contenders = timings
      .map((t, i) => [t, i] as const)
      .filter(([t]) => t !== null && t <= CONTENDER_RATIO * (timings[best] as number))
      .sort((a, b) => (a[0] as number) - (b[0] as number))
      .slice(0, MAX_CONTENDERS)
      .map(([, i]) => i);
    if (contenders.length > 1)
      for (let r = 0; r < CONFIRM_ROUNDS; r++)
        for (const i of contenders) {
          try {
            const ms = await req.measure(req.candidates[i], timings[best] as number);
            if (Number.isFinite(ms) && ms < (timings[i] as number)) timings[i] = ms;
            if ((timings[i] as number) < (timings[best] as number)) best = i;
          } catch {
            /* it worked once: keep its first time */
          }
        }
    const choice = req.candidates[best];
    log?.(`  ${req.candidates.map((c, i) => `${JSON.stringify(c)}: ${timings[i] === null ? 'failed/abandoned' : `${(timings[i] as number).toFixed(3)} ms`}`).join('\n  ')}`);
    log?.(`  chose ${JSON.stringify(choice)}`);
    store.write(key, { choice, ms: timings[best] as number, when: new Date().toISOString() });
    return { choice, source: 'measured', timings };
  })();
  memo.set(memoKey, p);
  p.catch(() => memo.delete(memoKey));
  return p;
}

/**
 * Fastest of a few samples, in milliseconds per launch of `op` (wall time around synced
 * submits, which is what CPU adapters offer; the minimum, not the median, because on a
 * shared machine other processes only ever add time). Compiles first; gives up early (returns the single-run time) when
 * one run is already `abandonAbove` ms or more.
 */
export function timeOp(rt: Runtime, op: Op, opts: { targetMs?: number; samples?: number; abandonAbove?: number } = {}): Promise<number> {
  return timeOps(rt, [op], opts);
}

/** As timeOp, for a sequence of ops recorded together (milliseconds per run of all of them). */
export async function timeOps(rt: Runtime, ops: readonly Op[], opts: { targetMs?: number; samples?: number; abandonAbove?: number } = {}): Promise<number> {
  const targetMs = opts.targetMs ?? 25;
  const samples = opts.samples ?? 3;
  await rt.run(...ops); // compile + first touch
  let t0 = performance.now();
  await rt.run(...ops);
  const once = Math.max(performance.now() - t0, 0.005);
  if (once >= (opts.abandonAbove ?? Infinity)) return once;
  const reps = Math.max(1, Math.min(256, Math.ceil(targetMs / once)));
  const times: number[] = [];
  for (let s = 0; s < samples; s++) {
    t0 = performance.now();
    for (let r = 0; r < reps; r++) for (const op of ops) rt.record(op);
    await rt.sync();
    times.push((performance.now() - t0) / reps);
  }
  return Math.min(...times);
}

/**
 * Inputs for measuring (and cross-checking) candidates: n deterministic values on 211 levels
 * spread over [−0.5, 0.5)·scale, the same every run; `salt` shifts the sequence so that two
 * operands differ.
 */
export function tuningInput(n: number, salt = 0, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => (((i * 7919 + salt) % 211) / 211 - 0.5) * scale);
}

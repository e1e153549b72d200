// A run directory belongs to one run: a fresh run refuses a directory that holds another
// (its config.json, metrics or checkpoints would be mixed or pruned away) unless told to
// replace it, and a lock file keeps a second live process out while one writes. Both are
// checked before any GPU work. A lock left by a process that no longer runs is taken over.
import { existsSync, readFileSync, readdirSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TrainingError } from './task.js';
import { processAlive } from '../data/atomic.js';

const RUN_FILES = ['config.json', 'metrics.jsonl', 'checkpoints'];
const LOCK = 'run.lock';


/** The pid of a live process (not this one) holding the run's lock, if any. */
export function runLockHolder(run: string): number | null {
  const path = join(run, LOCK);
  if (!existsSync(path)) return null;
  const pid = Number(readFileSync(path, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid) ? pid : null;
}

/**
 * Make `run` this run's directory: for a fresh run it must be empty or absent (or `overwrite`
 * clears it first); for a resume it must hold a run. Then take its lock.
 */
export function claimRunDirectory(run: string, opts: { resume?: boolean; overwrite?: boolean } = {}): void {
  const holder = runLockHolder(run);
  if (holder !== null) throw new TrainingError(`${run}: another electrolite process (pid ${holder}) is training into this directory; wait for it, or use another --out`);
  if (opts.resume && opts.overwrite) throw new TrainingError('--resume and --overwrite contradict each other: continue the run, or replace it');
  const present = existsSync(run) ? RUN_FILES.filter((f) => existsSync(join(run, f))) : [];
  if (!opts.resume && present.length) {
    if (!opts.overwrite)
      throw new TrainingError(`${run} holds another run (${present.join(', ')}): use --resume to continue it, another --out for a new run, or --overwrite to replace it`);
    for (const f of readdirSync(run)) if (f !== LOCK) rmSync(join(run, f), { recursive: true, force: true });
  }
  mkdirSync(run, { recursive: true });
  takeLock(run);
}

/** Create the lock exclusively (two processes cannot both succeed); a dead process's lock is replaced. */
function takeLock(run: string): void {
  const path = join(run, LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
      releaseAtExit(run);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = Number(readFileSync(path, 'utf8').trim());
    if (pid === process.pid) return;
    if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) throw new TrainingError(`${run}: another electrolite process (pid ${pid}) is training into this directory; wait for it, or use another --out`);
    rmSync(path, { force: true });
  }
  throw new TrainingError(`${path}: could not take the run's lock`);
}

/** The runs this process holds locks on, given back at exit by one listener (a study takes dozens). */
const held = new Set<string>();
let exitHook = false;
function releaseAtExit(run: string): void {
  held.add(run);
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const r of held) releaseRunDirectory(r);
  });
}

/** Give the lock back (the end of a run); a lock held by another process is left alone. */
export function releaseRunDirectory(run: string): void {
  held.delete(run);
  const path = join(run, LOCK);
  if (existsSync(path) && Number(readFileSync(path, 'utf8').trim()) === process.pid) rmSync(path, { force: true });
}

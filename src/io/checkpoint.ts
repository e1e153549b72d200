// Checkpoints: a directory per step holding the model and optimizer tensors (safetensors)
// and a JSON state (step, settings, generator state, config) that lists the SHA-256 of every
// file and carries a digest of itself. A write never opens a window without a complete
// newest checkpoint:
//   1. everything goes into `step-N.tmp-PID`, fsynced file by file;
//   2. a complete `step-N` of the same step is kept as it is (the run is deterministic: the
//      same step holds the same values) and the temporary is dropped; an incomplete one is
//      renamed aside (`step-N.old-PID`) first, never deleted before its replacement exists;
//   3. the temporary is renamed into place, then `latest.json` is replaced atomically;
//   4. older complete checkpoints beyond `keep` are pruned (never the one just written).
// Temporaries and asides left by killed processes are removed at the next write. A reader
// takes the newest COMPLETE checkpoint: when latest.json is missing, corrupt or points at a
// missing or corrupt checkpoint, it falls back to the newest complete one and says so.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadSafetensors, saveSafetensors, type SafeTensor } from './safetensors.js';
import { processAlive, writeFileAtomic } from '../data/atomic.js';

export interface CheckpointContents {
  step: number;
  /** Named tensor groups, e.g. { model: {...}, optimizer: {...} } → model.safetensors, optimizer.safetensors. */
  tensors: Record<string, Record<string, SafeTensor>>;
  /** Any JSON-serialisable training state. */
  state: Record<string, unknown>;
}

interface StateFile {
  format: 'electrolite-checkpoint';
  /** 2: with `digest` (version 1 files, which have none, still load). */
  version: 1 | 2;
  step: number;
  files: Record<string, string>;
  state: Record<string, unknown>;
  /** SHA-256 of the JSON of the fields above: an edited state.json is refused. */
  digest?: string;
}

/** The stages of a write, for tests that stop a write at each one (a throw from onStage leaves the disk as a kill would). */
export type CheckpointStage = 'temporary-written' | 'old-moved-aside' | 'renamed' | 'latest-written' | 'pruned';

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');
const digestOf = (s: Omit<StateFile, 'digest'>) => sha256(JSON.stringify({ format: s.format, version: s.version, step: s.step, files: s.files, state: s.state }));
const STEP_DIR = /^step-(\d+)$/;
const LEFTOVER = /^step-\d+\.(?:tmp|old)-(\d+)$/;

export function checkpointDir(runDir: string, step: number): string {
  return join(runDir, 'checkpoints', `step-${String(step).padStart(8, '0')}`);
}


/** Remove temporaries and asides of processes that no longer run; returns their names. */
export function removeStaleCheckpointFiles(runDir: string): string[] {
  const root = join(runDir, 'checkpoints');
  if (!existsSync(root)) return [];
  const removed: string[] = [];
  for (const d of readdirSync(root)) {
    const m = LEFTOVER.exec(d);
    if (m && !processAlive(Number(m[1]))) {
      rmSync(join(root, d), { recursive: true, force: true });
      removed.push(d);
    }
  }
  return removed;
}

/** Read and check a checkpoint's state.json (format, digest, listed files present); throws CheckpointError. */
function readState(dir: string): StateFile {
  const statePath = join(dir, 'state.json');
  if (!existsSync(statePath)) throw new CheckpointError(`${dir}: not a checkpoint (no state.json)`);
  let s: StateFile;
  try {
    s = JSON.parse(readFileSync(statePath, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${statePath}: corrupt (${(e as Error).message})`);
  }
  if (s === null || typeof s !== 'object' || s.format !== 'electrolite-checkpoint' || (s.version !== 1 && s.version !== 2))
    throw new CheckpointError(`${statePath}: not an electrolite checkpoint (format ${JSON.stringify(s?.format)}, version ${s?.version})`);
  if (s.version === 2 && s.digest !== digestOf(s)) throw new CheckpointError(`${statePath}: its digest does not match its contents (the file was edited or is corrupt)`);
  if (!Number.isInteger(s.step) || s.step < 0 || typeof s.files !== 'object' || s.files === null) throw new CheckpointError(`${statePath}: corrupt (no step or file list)`);
  for (const file of Object.keys(s.files)) if (!existsSync(join(dir, file))) throw new CheckpointError(`${join(dir, file)}: missing (listed in state.json)`);
  return s;
}

/** True when `dir` is a complete checkpoint by its state.json (the tensors' hashes are checked on load). */
function isComplete(dir: string): boolean {
  try {
    readState(dir);
    return true;
  } catch {
    return false;
  }
}

/** Complete checkpoint directories of a run, newest (highest step) first. */
function completeCheckpoints(runDir: string): { step: number; dir: string }[] {
  const root = join(runDir, 'checkpoints');
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((d) => ({ m: STEP_DIR.exec(d), dir: join(root, d) }))
    .filter((x) => x.m && isComplete(x.dir))
    .map((x) => ({ step: Number(x.m![1]), dir: x.dir }))
    .sort((a, b) => b.step - a.step);
}

/** Write a checkpoint (see the header); returns its directory. Keeps at most `keep` complete checkpoints. */
export function saveCheckpoint(runDir: string, c: CheckpointContents, keep = 3, onStage?: (stage: CheckpointStage) => void): string {
  const root = join(runDir, 'checkpoints');
  mkdirSync(root, { recursive: true });
  removeStaleCheckpointFiles(runDir);
  const final = checkpointDir(runDir, c.step);
  const aside = `${final}.old-${process.pid}`;
  if (isComplete(final)) rmSync(aside, { recursive: true, force: true }); // our own earlier write's, which completed
  else {
    const tmp = `${final}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true }); // our own leftover of an earlier failed write
    mkdirSync(tmp);
    const files: Record<string, string> = {};
    for (const [group, tensors] of Object.entries(c.tensors)) {
      const file = `${group}.safetensors`;
      saveSafetensors(join(tmp, file), tensors);
      files[file] = sha256(readFileSync(join(tmp, file)));
    }
    const body: Omit<StateFile, 'digest'> = { format: 'electrolite-checkpoint', version: 2, step: c.step, files, state: c.state };
    writeFileAtomic(join(tmp, 'state.json'), JSON.stringify({ ...body, digest: digestOf(body) }, null, 1));
    onStage?.('temporary-written');
    if (existsSync(final)) {
      renameSync(final, aside);
      onStage?.('old-moved-aside');
    }
    renameSync(tmp, final);
    onStage?.('renamed');
    rmSync(aside, { recursive: true, force: true });
  }
  writeFileAtomic(join(root, 'latest.json'), JSON.stringify({ step: c.step, dir: final.slice(root.length + 1) }) + '\n');
  onStage?.('latest-written');
  for (const old of completeCheckpoints(runDir).filter((x) => x.dir !== final).slice(Math.max(0, keep - 1))) rmSync(old.dir, { recursive: true, force: true });
  onStage?.('pruned');
  return final;
}

/** Load a checkpoint directory, verifying its state.json and every file's checksum. */
export function loadCheckpoint(dir: string): CheckpointContents {
  const s = readState(dir);
  const tensors: CheckpointContents['tensors'] = {};
  for (const [file, hash] of Object.entries(s.files)) {
    const path = join(dir, file);
    const actual = sha256(readFileSync(path));
    if (actual !== hash) throw new CheckpointError(`${path}: checksum mismatch (file is corrupt or was modified): expected ${hash.slice(0, 12)}…, got ${actual.slice(0, 12)}…`);
    tensors[file.replace(/\.safetensors$/, '')] = loadSafetensors(path).tensors;
  }
  return { step: s.step, tensors, state: s.state };
}

/** Only a checkpoint's state (no tensors read): for checks made before any heavy work. */
export function checkpointState(dir: string): { step: number; state: Record<string, unknown> } {
  const s = readState(dir);
  return { step: s.step, state: s.state };
}

const checkpointStep = (dir: string) => Number(STEP_DIR.exec(dir.split(/[\\/]/).pop() ?? '')?.[1] ?? -1);

/** The directory latest.json names, when it names a complete checkpoint; else why not. */
function latestPointer(root: string): { dir: string } | { problem: string } {
  const latest = join(root, 'latest.json');
  if (!existsSync(latest)) return { problem: 'no latest.json' };
  let l: { dir?: unknown };
  try {
    l = JSON.parse(readFileSync(latest, 'utf8'));
  } catch (e) {
    return { problem: `${latest} is corrupt (${(e as Error).message})` };
  }
  if (typeof l?.dir !== 'string' || !STEP_DIR.test(l.dir)) return { problem: `${latest} names no checkpoint` };
  const dir = join(root, l.dir);
  if (!existsSync(dir)) return { problem: `${latest} points to a missing checkpoint (${l.dir})` };
  try {
    readState(dir);
  } catch (e) {
    return { problem: `${latest} points to an incomplete checkpoint: ${(e as Error).message}` };
  }
  return { dir };
}

/**
 * The newest complete checkpoint directory of a run, or null when it has none: the one
 * latest.json names, or a newer complete one (a write killed before it updated latest.json).
 * When latest.json is missing, corrupt or points at a missing or incomplete checkpoint but a
 * complete one exists, that one is returned and `warn` says why.
 */
export function latestCheckpoint(runDir: string, warn: (message: string) => void = () => {}): string | null {
  const root = join(runDir, 'checkpoints');
  if (!existsSync(root)) return null;
  const p = latestPointer(root);
  const newest = completeCheckpoints(runDir)[0];
  // A write killed between its rename and latest.json leaves a newer complete checkpoint than
  // latest.json names: the newest complete one wins.
  if ('dir' in p) return newest && newest.dir !== p.dir && checkpointStep(newest.dir) > checkpointStep(p.dir) ? newest.dir : p.dir;
  if (!newest) return null;
  warn(`${p.problem}; using the newest complete checkpoint, ${newest.dir}`);
  return newest.dir;
}

/**
 * Load the newest checkpoint that verifies completely (hashes included), falling back to
 * older complete ones with a warning for each that fails; null when the run has none.
 */
export function loadLatestCheckpoint(runDir: string, warn: (message: string) => void = () => {}): { dir: string; contents: CheckpointContents } | null {
  const first = latestCheckpoint(runDir, warn);
  if (!first) return null;
  const candidates = [first, ...completeCheckpoints(runDir).map((x) => x.dir).filter((d) => d !== first)];
  const failures: string[] = [];
  for (const dir of candidates) {
    try {
      const contents = loadCheckpoint(dir);
      if (failures.length) warn(`${failures.join('; ')}; using ${dir}`);
      return { dir, contents };
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      failures.push(e.message);
    }
  }
  throw new CheckpointError(`${runDir}: no checkpoint loads: ${failures.join('; ')}`);
}

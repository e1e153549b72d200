// Checkpoints: a directory per step holding the model and optimizer tensors (safetensors)
// and a JSON state (step, RNG counters, data position, generator state, config), with a
// SHA-256 of every file. Written into a temporary directory and renamed into place, then
// `latest.json` is replaced atomically: an interrupted write leaves nothing a load accepts.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadSafetensors, saveSafetensors, writeFileAtomic, type SafeTensor } from './safetensors.js';

export interface CheckpointContents {
  step: number;
  /** Named tensor groups, e.g. { model: {...}, optimizer: {...} } → model.safetensors, optimizer.safetensors. */
  tensors: Record<string, Record<string, SafeTensor>>;
  /** Any JSON-serialisable training state. */
  state: Record<string, unknown>;
}

interface StateFile {
  format: 'electrolite-checkpoint';
  version: 1;
  step: number;
  files: Record<string, string>;
  state: Record<string, unknown>;
}

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

export function checkpointDir(runDir: string, step: number): string {
  return join(runDir, 'checkpoints', `step-${String(step).padStart(8, '0')}`);
}

/** Write a checkpoint; returns its directory. Keeps at most `keep` newest checkpoints. */
export function saveCheckpoint(runDir: string, c: CheckpointContents, keep = 3): string {
  const root = join(runDir, 'checkpoints');
  mkdirSync(root, { recursive: true });
  const final = checkpointDir(runDir, c.step);
  const tmp = `${final}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const files: Record<string, string> = {};
  for (const [group, tensors] of Object.entries(c.tensors)) {
    const file = `${group}.safetensors`;
    saveSafetensors(join(tmp, file), tensors);
    files[file] = sha256(join(tmp, file));
  }
  const state: StateFile = { format: 'electrolite-checkpoint', version: 1, step: c.step, files, state: c.state };
  writeFileAtomic(join(tmp, 'state.json'), JSON.stringify(state, null, 1));
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  writeFileAtomic(join(root, 'latest.json'), JSON.stringify({ step: c.step, dir: final.slice(root.length + 1) }) + '\n');
  // Prune old checkpoints (never the one just written).
  const all = readdirSync(root).filter((d) => /^step-\d+$/.test(d)).sort();
  for (const d of all.slice(0, Math.max(0, all.length - keep))) rmSync(join(root, d), { recursive: true, force: true });
  return final;
}

/** Load a checkpoint directory, verifying every file's checksum. */
export function loadCheckpoint(dir: string): CheckpointContents {
  const statePath = join(dir, 'state.json');
  if (!existsSync(statePath)) throw new CheckpointError(`${dir}: not a checkpoint (no state.json)`);
  let s: StateFile;
  try {
    s = JSON.parse(readFileSync(statePath, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${statePath}: corrupt (${(e as Error).message})`);
  }
  if (s.format !== 'electrolite-checkpoint' || s.version !== 1) throw new CheckpointError(`${statePath}: not an electrolite checkpoint (format ${JSON.stringify(s.format)}, version ${s.version})`);
  const tensors: CheckpointContents['tensors'] = {};
  for (const [file, hash] of Object.entries(s.files)) {
    const path = join(dir, file);
    if (!existsSync(path)) throw new CheckpointError(`${path}: missing (listed in state.json)`);
    const actual = sha256(path);
    if (actual !== hash) throw new CheckpointError(`${path}: checksum mismatch (file is corrupt or was modified): expected ${hash.slice(0, 12)}…, got ${actual.slice(0, 12)}…`);
    tensors[file.replace(/\.safetensors$/, '')] = loadSafetensors(path).tensors;
  }
  return { step: s.step, tensors, state: s.state };
}

/** The newest checkpoint directory of a run, or null when it has none. */
export function latestCheckpoint(runDir: string): string | null {
  const root = join(runDir, 'checkpoints');
  const latest = join(root, 'latest.json');
  if (!existsSync(latest)) return null;
  let l: { dir?: string };
  try {
    l = JSON.parse(readFileSync(latest, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${latest}: corrupt (${(e as Error).message})`);
  }
  if (typeof l.dir !== 'string' || !existsSync(join(root, l.dir))) throw new CheckpointError(`${latest}: points to a missing checkpoint (${l.dir})`);
  return join(root, l.dir);
}

// Checkpoints: round trip, latest pointer, pruning, and corruption detected on load.
import { describe, expect, it } from 'vitest';
import { readdirSync, writeFileSync, readFileSync, appendFileSync, mkdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { saveCheckpoint, loadCheckpoint, latestCheckpoint, loadLatestCheckpoint, checkpointDir, removeStaleCheckpointFiles, type CheckpointStage } from '../../src/io/checkpoint.js';
import { fromFloat32, toFloat32 } from '../../src/io/safetensors.js';
import { MetricsLog } from '../../src/train/metrics-log.js';
import { tempDir } from '../tmp.js';

function contents(step: number) {
  return {
    step,
    tensors: {
      model: { 'w': fromFloat32(Float32Array.from([1, 2, 3, step]), [2, 2]) },
      optimizer: { 'w.m': fromFloat32(new Float32Array([0.5, 0.25, 0, step]), [2, 2]) },
    },
    state: { rng: { seed: 1337, step }, data: { epoch: 0, index: step * 4 } },
  };
}

describe('checkpoints', () => {
  it('round-trips tensors and state and points latest at the newest; keeps only the newest few', () => {
    const run = tempDir('electrolite-ck-');
    expect(latestCheckpoint(run)).toBeNull();
    for (const step of [10, 20, 30, 40]) saveCheckpoint(run, contents(step), 2);
    expect(latestCheckpoint(run)).toBe(checkpointDir(run, 40));
    expect(readdirSync(join(run, 'checkpoints')).sort()).toEqual(['latest.json', 'step-00000030', 'step-00000040']);
    const c = loadCheckpoint(latestCheckpoint(run)!);
    expect(c.step).toBe(40);
    expect(Array.from(toFloat32(c.tensors.model.w))).toEqual([1, 2, 3, 40]);
    expect(c.state).toEqual({ rng: { seed: 1337, step: 40 }, data: { epoch: 0, index: 160 } });
  });

  it('detects a modified or truncated tensor file and a missing state', () => {
    const run = tempDir('electrolite-ck-');
    const dir = saveCheckpoint(run, contents(5));
    const f = join(dir, 'model.safetensors');
    const bytes = readFileSync(f);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(f, bytes);
    expect(() => loadCheckpoint(dir)).toThrow(/model\.safetensors: checksum mismatch/);
    expect(() => loadCheckpoint(join(run, 'nowhere'))).toThrow(/not a checkpoint \(no state\.json\)/);
    writeFileSync(join(dir, 'state.json'), '{"format": "electrolite-che');
    expect(() => loadCheckpoint(dir)).toThrow(/state\.json: corrupt/);
  });
});

describe('metrics log', () => {
  it('appends JSON lines and tolerates a torn final line only', () => {
    const path = join(tempDir('electrolite-ml-'), 'metrics.jsonl');
    const log = new MetricsLog(path);
    log.write({ step: 1, loss: 2.5 });
    log.write({ step: 2, loss: 2.25 });
    appendFileSync(path, '{"step": 3, "lo');
    expect(MetricsLog.read(path).map((r) => r.loss)).toEqual([2.5, 2.25]);
    appendFileSync(path, '\n{"step": 4}\n');
    expect(() => MetricsLog.read(path)).toThrow(/metrics\.jsonl:3: corrupt metrics line/);
  });
});

describe('checkpoint writes that are interrupted, repeated or tampered with', () => {
  const STAGES: CheckpointStage[] = ['temporary-written', 'old-moved-aside', 'renamed', 'latest-written', 'pruned'];

  /** A run with complete checkpoints at 10 and 20 and an incomplete step 30 (a torn earlier write). */
  function runWithHistory() {
    const run = tempDir('electrolite-ck-kill-');
    saveCheckpoint(run, contents(10));
    saveCheckpoint(run, contents(20));
    mkdirSync(checkpointDir(run, 30));
    writeFileSync(join(checkpointDir(run, 30), 'model.safetensors'), 'torn');
    return run;
  }

  for (const stage of STAGES)
    it(`a write killed at '${stage}' leaves the newest complete checkpoint loadable`, () => {
      const run = runWithHistory();
      const crash = new Error(`killed at ${stage}`);
      expect(() => saveCheckpoint(run, contents(30), 3, (s) => { if (s === stage) throw crash; })).toThrow(crash);
      const warnings: string[] = [];
      const latest = loadLatestCheckpoint(run, (m) => warnings.push(m))!;
      // Before the rename the newest complete one is step 20; from the rename on, step 30.
      const renamed = STAGES.indexOf(stage) >= STAGES.indexOf('renamed');
      expect(latest.contents.step).toBe(renamed ? 30 : 20);
      expect(Array.from(toFloat32(latest.contents.tensors.model.w))).toEqual([1, 2, 3, renamed ? 30 : 20]);
      // latest.json still named step 20 until it was rewritten: either way no warning is needed
      // unless it names something incomplete.
      expect(warnings).toEqual([]);
      // The next write completes the job and clears what the killed one left.
      saveCheckpoint(run, contents(30));
      expect(readdirSync(join(run, 'checkpoints')).sort()).toEqual(['latest.json', 'step-00000010', 'step-00000020', 'step-00000030']);
    });

  it('an existing complete checkpoint of the same step is not rewritten', () => {
    const run = tempDir('electrolite-ck-same-');
    const dir = saveCheckpoint(run, contents(7));
    const before = statSync(join(dir, 'model.safetensors')).mtimeMs;
    const other = contents(7);
    other.tensors.model.w = fromFloat32(Float32Array.from([9, 9, 9, 9]), [2, 2]);
    expect(saveCheckpoint(run, other)).toBe(dir);
    expect(Array.from(toFloat32(loadCheckpoint(dir).tensors.model.w))).toEqual([1, 2, 3, 7]);
    expect(statSync(join(dir, 'model.safetensors')).mtimeMs).toBe(before);
  });

  it("temporaries and asides of dead processes are removed at the next write; a live process's are kept", () => {
    const run = tempDir('electrolite-ck-stale-');
    saveCheckpoint(run, contents(1));
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    const pid = Number(dead.stdout.trim());
    const root = join(run, 'checkpoints');
    for (const d of [`step-00000002.tmp-${pid}`, `step-00000001.old-${pid}`, 'step-00000002.tmp-1']) mkdirSync(join(root, d));
    expect(removeStaleCheckpointFiles(run)).toEqual([`step-00000001.old-${pid}`, `step-00000002.tmp-${pid}`].sort());
    expect(readdirSync(root).sort()).toEqual(['latest.json', 'step-00000001', 'step-00000002.tmp-1']); // pid 1 (init) is alive
    saveCheckpoint(run, contents(2));
    expect(readdirSync(root)).toContain('step-00000002');
  });

  it('an edited state.json is refused; a broken latest.json falls back to the newest complete checkpoint, saying so', () => {
    const run = tempDir('electrolite-ck-edit-');
    saveCheckpoint(run, contents(10));
    const dir = saveCheckpoint(run, contents(20));
    const statePath = join(dir, 'state.json');
    const good = readFileSync(statePath, 'utf8');
    writeFileSync(statePath, good.replace('"step": 20', '"step": 25'));
    expect(() => loadCheckpoint(dir)).toThrow(/state\.json: its digest does not match its contents/);
    const warnings: string[] = [];
    expect(loadLatestCheckpoint(run, (m) => warnings.push(m))!.contents.step).toBe(10);
    expect(warnings.join('\n')).toMatch(/points to an incomplete checkpoint: .*digest does not match.*using the newest complete checkpoint, .*step-00000010/);
    writeFileSync(statePath, good);
    writeFileSync(join(run, 'checkpoints', 'latest.json'), '{"step": 2');
    warnings.length = 0;
    expect(latestCheckpoint(run, (m) => warnings.push(m))).toBe(dir);
    expect(warnings.join('\n')).toMatch(/latest\.json is corrupt .*using the newest complete checkpoint/);
    // A tensor file corrupted under a valid state.json: the full load falls back to the older one.
    const f = join(dir, 'model.safetensors');
    const bytes = readFileSync(f);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(f, bytes);
    warnings.length = 0;
    expect(loadLatestCheckpoint(run, (m) => warnings.push(m))!.contents.step).toBe(10);
    expect(warnings.join('\n')).toMatch(/model\.safetensors: checksum mismatch.*using .*step-00000010/);
  });
});

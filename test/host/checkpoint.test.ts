// Checkpoints: round trip, latest pointer, pruning, and corruption detected on load.
import { describe, expect, it } from 'vitest';
import { readdirSync, writeFileSync, readFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { saveCheckpoint, loadCheckpoint, latestCheckpoint, checkpointDir } from '../../src/io/checkpoint.js';
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

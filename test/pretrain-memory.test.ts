// Pre-training without a file system, as the web page runs it: the prepared corpus read from
// memory (src/data/files.ts: the bytes of a prepared directory, as the page fetches them) and
// the run's record kept in memory (src/train/run-store.ts). The same run as from a directory,
// value for value; a corrupted byte is caught as on disk; a run stopped by its signal ends
// cleanly (final checkpoint) and resumes from memory exactly.
import { beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './tmp.js';
import { getRuntime } from './harness.js';
import { prepareMoby, smallTrainConfig } from './train-fixtures.js';
import { memoryFiles, type DataFiles } from '../src/data/files.js';
import { BatchLoader } from '../src/data/loader.js';
import { MemoryRun } from '../src/train/run-store.js';
import { pretrainingTask } from '../src/train/pretraining.js';
import { REFIT_AT, runPretraining } from '../src/train/loop.js';
import { MetricsLog } from '../src/train/metrics-log.js';
import type { ObjectiveName } from '../src/objectives/registry.js';

let data = '';
const root = tempDir('electrolite-memory-run-');
const LOCATION = 'https://example.test/site/data';

beforeAll(async () => {
  data = await prepareMoby(root);
}, 300_000);

/** The prepared directory's files as the page holds them after fetching. */
function inMemory(edit?: (files: Map<string, Uint8Array>) => void): DataFiles {
  const files = new Map(readdirSync(data).map((f) => [f, new Uint8Array(readFileSync(join(data, f)))]));
  edit?.(files);
  return memoryFiles(LOCATION, files);
}

const trainLosses = (records: Record<string, unknown>[]) => records.filter((r) => r.kind === 'train').map((r) => [r.step, r.loss]);

describe('pre-training from memory into memory (the web page)', () => {
  it('the fetched bytes give the directory loader\'s batches, and a damaged byte is refused naming the file', () => {
    const fromDir = new BatchLoader(data, { batchSize: 8, seed: 3 });
    const fromMemory = new BatchLoader(inMemory(), { batchSize: 8, seed: 3 });
    expect(fromMemory.stepsPerEpoch).toBe(fromDir.stepsPerEpoch);
    for (const [e, s] of [[0, 0], [0, fromDir.stepsPerEpoch - 1], [2, 5]]) expect(fromMemory.batch(e, s)).toEqual(fromDir.batch(e, s));
    fromDir.close();
    const damaged = inMemory((files) => {
      const shard = files.get('train-00000.bin')!;
      shard[100] ^= 1;
    });
    const c = smallTrainConfig('mlm', LOCATION, join(root, 'unused'), 2);
    expect(() => pretrainingTask(c, damaged)).toThrow(`shards: ${LOCATION}/train-00000.bin is corrupted: its SHA-256 differs from the manifest's`);
    const noUnigram = inMemory((files) => files.delete('unigram.json'));
    expect(() => pretrainingTask({ ...c, objective: 'rts' }, noUnigram)).toThrow(`${LOCATION}/unigram.json is missing`);
  });

  for (const objective of ['mlm', 'crts'] as ObjectiveName[]) {
    it(`${objective}: the same losses as the run from and into a directory; config and records in memory`, async () => {
      const rt = await getRuntime();
      const dirRun = join(root, `dir-${objective}`);
      const c = smallTrainConfig(objective, data, dirRun, 4);
      await runPretraining(rt, c);
      const want = trainLosses(MetricsLog.read(join(dirRun, 'metrics.jsonl')));
      const store = new MemoryRun('page');
      const mc = { ...c, data: LOCATION, run: 'page' };
      const summary = await runPretraining(rt, mc, { task: pretrainingTask(mc, inMemory()), store });
      expect(trainLosses(store.records)).toEqual(want);
      expect(want).toHaveLength(4);
      expect(summary.checkpoint).toBe('page/step-00000004');
      expect(store.config).toMatchObject({ objective, data: LOCATION, run: 'page', totalSteps: 4 });
      expect(store.loadLatestCheckpoint()!.contents.step).toBe(4);
    });
  }

  it('a run stopped by its signal ends with a checkpoint, and resumes from memory to the uninterrupted run\'s losses', async () => {
    const rt = await getRuntime();
    const c = { ...smallTrainConfig('rts', LOCATION, 'page', 6), run: 'page' };
    const whole = new MemoryRun('whole');
    await runPretraining(rt, c, { task: pretrainingTask(c, inMemory()), store: whole });
    const store = new MemoryRun('stopped');
    const stop = new AbortController();
    const first = await runPretraining(rt, c, {
      task: pretrainingTask(c, inMemory()),
      store,
      signal: stop.signal,
      report: { total() {}, step: (step) => void (step === 3 && stop.abort()), done() {}, message() {} },
    });
    expect(first.stopped).toBe(true);
    expect(first.steps).toBeGreaterThanOrEqual(3);
    expect(first.steps).toBeLessThan(6);
    expect(store.loadLatestCheckpoint()!.contents.step).toBe(first.steps);
    const rest = await runPretraining(rt, c, { task: pretrainingTask(c, inMemory()), store, resume: true });
    expect(rest.stopped).toBeUndefined();
    expect(rest.steps).toBe(6);
    expect(trainLosses(store.records)).toEqual(trainLosses(whole.records));
    expect(store.records.some((r) => r.kind === 'resumed' && r.step === first.steps)).toBe(true);
  });

  it('a memory run refuses a second fresh run over the first', async () => {
    const rt = await getRuntime();
    const c = { ...smallTrainConfig('mlm', LOCATION, 'page', 1), run: 'page' };
    const store = new MemoryRun('page');
    await runPretraining(rt, c, { task: pretrainingTask(c, inMemory()), store });
    await expect(runPretraining(rt, c, { task: pretrainingTask(c, inMemory()), store })).rejects.toThrow('page holds another run');
  });

  it('a time budget: fitted after the first timed steps, refitted once at REFIT_AT of it to the steps since, ending by the deadline', async () => {
    // A clock the test moves: the steps up to the first fit take 300 ms each, every later one 100 ms.
    const rt = await getRuntime();
    const c = smallTrainConfig('rts', LOCATION, 'page', 1, { budget: { kind: 'time', seconds: 6 }, logEvery: 1000 });
    let ms = 0;
    const totals: number[] = [];
    const report = { total: (n: number) => totals.push(n), step: () => {}, done: () => {}, message: () => {} };
    const summary = await runPretraining(rt, c, {
      task: pretrainingTask(c, inMemory()), store: new MemoryRun('page'), report, clock: () => ms,
      afterStep: async (tr) => void (ms += tr.step <= 4 ? 300 : 100),
    });
    // Timed from step 1 (0 ms; deadline 6000). At step 4: 900 ms for 3 steps → 4 + ⌊5100 / 300⌋ = 21.
    // REFIT_AT (5 %, 300 ms) has passed by then; the refit waits for 3 steps after the fit: at step 7,
    // 1400 ms, (1400 − 900) / 3 ms a step → 7 + ⌊4600 / 166.7⌋ = 34. The run's clock ends at 4 × 300 +
    // 30 × 100 = 4200 ms of its 6000; without the refit it would have stopped at 21 steps, 2900 ms.
    expect(REFIT_AT).toBe(0.05);
    expect(totals.slice(1)).toEqual([21, 34]);
    expect(summary.steps).toBe(34);
    expect(summary.seconds).toBeCloseTo(4.2, 6);
  });
});

// RTS with the unigram generator end to end on bundled Moby-Dick: the loss goes down within
// 40 steps (the criterion of test/pretrain.test.ts), config.json and checkpoints record the
// generator and α, resume refuses another generator, a missing unigram.json is named, and
// `pretrain --generator/--alpha` usage errors are UsageErrors (exit 2).
import { beforeAll, describe, expect, it } from 'vitest';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { getRuntime } from './harness.js';
import { prepareMoby, smallTrainConfig, mean } from './train-fixtures.js';
import { Trainer, type TrainConfig } from '../src/train/trainer.js';
import { trainConfigFromArgs } from '../src/cli/pretrain.js';
import { UsageError } from '../src/cli/args.js';
import { tempDir } from './tmp.js';

let data = '';
const root = tempDir('electrolite-unigram-');

beforeAll(async () => {
  data = await prepareMoby(root);
}, 300_000);

function config(run: string, steps: number, extra: Partial<TrainConfig> = {}): TrainConfig {
  return smallTrainConfig('rts', data, join(root, run), steps, { rtsGenerator: 'unigram', unigramAlpha: 0.75, ...extra });
}


describe('RTS with the unigram generator', () => {
  it('trains: the loss goes down within 40 steps; replacements are never special; config.json records α', async () => {
    const rt = await getRuntime();
    const tr = await Trainer.create(rt, config('run', 40));
    const l: number[] = [];
    for (let i = 0; i < 40; i++) {
      tr.runStep();
      l.push((await tr.readStepMetrics()).loss);
    }
    expect(l.every(Number.isFinite)).toBe(true);
    // Mean of the last 8 steps below 93 % of the first 8 (as test/pretrain.test.ts).
    expect(mean(l.slice(-8))).toBeLessThan(0.93 * mean(l.slice(0, 8)));
    const obj = tr['train'].objective;
    const ids = (await rt.read(tr['train'].ids)) as Uint32Array, out = (await rt.read(obj.inputIds)) as Uint32Array;
    const target = (await rt.read(obj.target!)) as Float32Array;
    let replaced = 0;
    for (let i = 0; i < ids.length; i++) {
      if (out[i] !== ids[i]) {
        replaced++;
        expect(obj.vocab.specialIds.includes(out[i])).toBe(false);
        expect(target[i]).toBe(1);
      }
    }
    expect(replaced).toBeGreaterThan(0);
    const cfg = JSON.parse(readFileSync(join(root, 'run', 'config.json'), 'utf8'));
    expect([cfg.rtsGenerator, cfg.unigramAlpha]).toEqual(['unigram', 0.75]);
  });

  it('a resume refuses another generator or α; a missing unigram.json is named; the generator needs rts', async () => {
    const rt = await getRuntime();
    const first = await Trainer.create(rt, config('ck', 2));
    first.runStep();
    await first.checkpoint();
    await expect(Trainer.create(rt, config('ck', 2, { rtsGenerator: 'uniform', unigramAlpha: undefined }), { resume: true })).rejects.toThrow(/RTS generator 'unigram' \(alpha 0.75\) differs from this run's 'uniform'/);
    await expect(Trainer.create(rt, config('ck', 2, { unigramAlpha: 0.5 }), { resume: true })).rejects.toThrow(/differs from this run's 'unigram' \(alpha 0.5\)/);
    expect((await Trainer.create(rt, config('ck', 2), { resume: true })).step).toBe(1);
    const bare = join(root, 'bare');
    cpSync(data, bare, { recursive: true });
    rmSync(join(bare, 'unigram.json'));
    // The manifest lists (and hashes) unigram.json: its loss is caught on load, naming the file.
    await expect(Trainer.create(rt, config('bare-run', 2, { data: bare }))).rejects.toThrow(/unigram\.json is missing \(listed in .*manifest\.json\); re-run prepare/);
    await expect(Trainer.create(rt, config('mlm-run', 2, { objective: 'mlm' }))).rejects.toThrow(/--generator applies to --objective rts only \(this run trains mlm\)/);
  });

  it('pretrain --generator/--alpha: parsed, and bad values are usage errors', () => {
    const base = { objective: 'rts', data: 'D', out: 'R', model: 'tiny', budget: '10', batch: '8', accumulate: '1', lr: '1e-3', schedule: 'linear', seed: '1', 'mask-prob': '0.15', 'weight-decay': '0', clip: '1', 'log-every': '1', 'eval-every': '0', 'eval-batches': '1', 'checkpoint-every': '0' };
    expect(trainConfigFromArgs(base).rtsGenerator).toBeUndefined();
    const u = trainConfigFromArgs({ ...base, generator: 'unigram' });
    expect([u.rtsGenerator, u.unigramAlpha]).toEqual(['unigram', 0.75]);
    expect(trainConfigFromArgs({ ...base, generator: 'unigram', alpha: '0' }).unigramAlpha).toBe(0);
    expect(trainConfigFromArgs({ ...base, generator: 'uniform' }).rtsGenerator).toBe('uniform');
    const bad: [Record<string, string>, RegExp][] = [
      [{ generator: 'zipf' }, /unknown --generator 'zipf' \(expected one of uniform, unigram\)/],
      [{ generator: 'unigram', alpha: '1.5' }, /--alpha must be in \[0, 1\], got '1.5'/],
      [{ generator: 'unigram', alpha: 'x' }, /--alpha must be a number/],
      [{ alpha: '0.5' }, /--alpha applies to --generator unigram only/],
      [{ objective: 'crts', generator: 'unigram' }, /--generator applies to --objective rts only \(this run trains crts\)/],
    ];
    for (const [v, msg] of bad) {
      expect(() => trainConfigFromArgs({ ...base, ...v })).toThrow(UsageError);
      expect(() => trainConfigFromArgs({ ...base, ...v })).toThrow(msg);
    }
  });
});

// `electrolite pretrain` from the command line: a short run writes config, metrics and a
// resumable checkpoint; bad input gives clear errors (exit 2 for usage, 1 otherwise), and a
// run that diverges stops with a message instead of training on NaN.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './tmp.js';
import { getRuntime } from './harness.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const root = tempDir('electrolite-cli-');
const data = join(root, 'data');

function cli(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 240_000, env: { ...process.env, ELECTROLITE_AUTOTUNE: '0' } });
}

const small = ['--model', 'tiny', '--batch', '4', '--log-every', '1', '--eval-every', '0', '--quiet'];

beforeAll(() => {
  const r = cli(['prepare', '--corpus', 'bundled:moby-dick', '--vocab-size', '600', '--seq-len', '32', '--out', data, '--clusters', '10']);
  expect(r.status, r.stderr).toBe(0);
}, 240_000);

describe('pretrain (CLI)', () => {
  it('a short run writes config.json, metrics.jsonl and a checkpoint that --resume continues', () => {
    const run = join(root, 'run');
    const r = cli(['pretrain', '--objective', 'slm', '--data', data, '--out', run, '--budget', '3', '--checkpoint-every', '3', ...small]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/slm on tiny: 3 steps/);
    const config = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ objective: 'slm', preset: 'tiny', batch: 4, totalSteps: 3 });
    expect(config.model.hiddenSize).toBe(128);
    const metrics = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics.filter((m) => m.kind === 'train').map((m) => m.step)).toEqual([1, 2, 3]);
    expect(readdirSync(join(run, 'checkpoints'))).toContain('step-00000003');
    // A resume repeats the run's settings: another budget (another schedule) is refused, naming it.
    const other = cli(['pretrain', '--objective', 'slm', '--data', data, '--out', run, '--budget', '5', '--resume', ...small]);
    expect(other.status, other.stderr).toBe(2);
    expect(other.stderr).toMatch(/--resume with other settings than the run's .*budget \{"kind":"steps","steps":3\} in the checkpoint, \{"kind":"steps","steps":5\} now/);
    // A fresh run into the same directory is refused: it would mix the two runs' files.
    const fresh = cli(['pretrain', '--objective', 'slm', '--data', data, '--out', run, '--budget', '3', ...small]);
    expect(fresh.status, fresh.stderr).toBe(2);
    expect(fresh.stderr).toMatch(/holds another run \(config\.json, metrics\.jsonl, checkpoints\): use --resume to continue it, another --out for a new run, or --overwrite to replace it/);
  });

  it('a run interrupted after a checkpoint resumes from it and ends as the uninterrupted run', () => {
    const args = (out: string) => ['pretrain', '--objective', 'rts', '--data', data, '--out', out, '--budget', '5', '--checkpoint-every', '3', ...small];
    const straight = join(root, 'straight');
    expect(cli(args(straight)).status).toBe(0);
    const run = join(root, 'interrupted');
    expect(cli(args(run)).status).toBe(0);
    // As if killed after step 3's checkpoint: step 5's checkpoint and its log lines are gone,
    // and latest.json still names it.
    rmSync(join(run, 'checkpoints', 'step-00000005'), { recursive: true });
    const again = cli([...args(run), '--resume']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/points to a missing checkpoint \(step-00000005\); using the newest complete checkpoint/);
    expect(again.stdout).toMatch(/rts on tiny: 5 steps/);
    const log = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const trainSteps = (dir: string) => log(dir).filter((m) => m.kind === 'train').map((m) => [m.step, m.loss]);
    // Every step once (the resume dropped the re-run steps' old lines and marked itself), with the uninterrupted run's losses.
    expect(trainSteps(run)).toEqual(trainSteps(straight));
    expect(log(run).filter((m) => m.kind === 'resumed').map((m) => m.step)).toEqual([3]);
  });

  it('--init-from starts from a Hugging Face export (encoder loaded, other head fresh) and refuses a mismatched one', () => {
    const run = join(root, 'src-run');
    expect(cli(['pretrain', '--objective', 'mlm', '--data', data, '--out', run, '--budget', '2', ...small]).status).toBe(0);
    const hf = join(root, 'src-hf');
    const ex = cli(['export', '--run', run, '--out', hf]);
    expect(ex.status, ex.stderr).toBe(0);
    const r = cli(['pretrain', '--objective', 'rts', '--data', data, '--out', join(root, 'from-hf'), '--budget', '2', '--init-from', hf, ...small]);
    expect(r.status, r.stderr).toBe(0);
    const log = readFileSync(join(root, 'from-hf', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const init = log.find((m) => m.kind === 'init-from');
    expect(init.loaded).toBeGreaterThan(30);
    expect(init.fresh.some((n: string) => n.startsWith('discriminator_predictions.'))).toBe(true);
    const mismatch = cli(['pretrain', '--objective', 'rts', '--data', data, '--out', join(root, 'mm'), '--budget', '2', '--init-from', fileURLToPath(new URL('./fixtures/hf/electra-disc-tiny', import.meta.url)), ...small]);
    expect(mismatch.status).toBe(1);
    expect(mismatch.stderr).toMatch(/disagrees with the run's model config/);
  });

  it('predict runs on a pre-LN run with overridden sizes (the final LayerNorm included)', () => {
    const run = join(root, 'preln');
    const r = cli(['pretrain', '--objective', 'rts', '--pre-ln', '--layers', '1', '--hidden', '96', '--heads', '3', '--ffn', '200', '--data', data, '--out', run, '--budget', '2', ...small]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).model).toMatchObject({ numLayers: 1, hiddenSize: 96, numHeads: 3, intermediateSize: 200, preLayerNorm: true });
    const p = cli(['predict', '--model', run, '--json', '--text', 'call me ishmael']);
    expect(p.status, p.stderr).toBe(0);
    const out = JSON.parse(p.stdout.trim().split('\n')[0]);
    expect(out.logits.length).toBe(out.ids.length);
    expect(out.logits.flat().every(Number.isFinite)).toBe(true);
  });

  it('usage errors exit 2 with the reason', () => {
    const bad = [
      [['--objective', 'bert', '--data', data, '--out', join(root, 'x')], /unknown objective 'bert'/],
      [['--objective', 'mlm', '--data', data, '--out', join(root, 'x'), '--model', 'huge'], /unknown model preset 'huge'/],
      [['--objective', 'mlm', '--out', join(root, 'x')], /--data DIR is required/],
      [['--objective', 'mlm', '--data', data, '--out', join(root, 'x'), '--batch', '0'], /--batch must be an integer ≥ 1/],
      [['--objective', 'mlm', '--data', data, '--out', join(root, 'x'), '--budget', 'forever'], /invalid budget 'forever'/],
      [['--objective', 'mlm', '--data', data, '--out', join(root, 'x'), '--hidden', '0'], /--hidden must be an integer ≥ 1/],
      [['--objective', 'mlm', '--data', data, '--out', join(root, 'x'), '--dropout', '1.5'], /--dropout must be a number ≥ 0 and < 1, got '1\.5'/],
      [['--objective', 'mlm', '--data', data, '--out', join(root, 'x'), '--mask-prob', '0'], /--mask-prob must be a number > 0 and < 1, got '0'/],
      [['--objective', 'mlm', '--data', data, '--out', join(root, 'x'), '--clip=-1'], /--clip must be a number ≥ 0, got '-1'/],
      [['--objective', 'rts', '--data', data, '--out', join(root, 'x'), '--generator-size', '1/2'], /--generator-size applies to --objective electra only \(this run trains rts\)/],
      [['--objective', 'mlm', '--data', data, '--out', join(root, 'x'), '--precision', 'bf16'], /pretrain: unknown --precision 'bf16' \(expected f32 or f16\)/],
      [['--objective', 'mlm', '--data', data, '--out', join(root, 'x'), '--loss-scale', '1024'], /pretrain: --loss-scale is for --precision f16/],
      [['--objective', 'mlm', '--data', data, '--out', join(root, 'x'), '--precision', 'f16', '--loss-scale', '0'], /--loss-scale must be a number > 0, got '0'/],
    ] as const;
    for (const [args, msg] of bad) {
      const r = cli(['pretrain', ...args]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
  });

  it('bad data and settings before the GPU (exit 2), a batch beyond the adapter limit and a corrupt checkpoint (exit 1) are clear errors', () => {
    // Refused before any adapter is taken: usage errors (exit 2).
    const nodata = cli(['pretrain', '--objective', 'rts', '--data', join(root, 'nowhere'), '--out', join(root, 'y'), ...small]);
    expect(nodata.status).toBe(2);
    expect(nodata.stderr).toMatch(/nowhere/);
    expect(nodata.stderr).not.toMatch(/adapter:/);
    const few = cli(['pretrain', '--objective', 'rts', '--data', data, '--out', join(root, 'z'), '--model', 'tiny', '--batch', '200000', '--quiet']);
    expect(few.status).toBe(2);
    expect(few.stderr).toMatch(/train split of .* has \d+ sequences, fewer than one batch of 200000/);
    const huge = cli(['pretrain', '--objective', 'rts', '--data', data, '--out', join(root, 'z'), '--model', 'tiny', '--batch', '4000', '--quiet']);
    expect(huge.status).toBe(1);
    expect(huge.stderr).toMatch(/batch 4000 × sequence 32 needs a \[128000, 512\] f32 activation of 250 MiB, above this adapter's maxStorageBufferBindingSize of \d+ MiB: use --batch \d+ or less/);
    const run = join(root, 'corrupt');
    expect(cli(['pretrain', '--objective', 'rts', '--data', data, '--out', run, '--budget', '2', '--checkpoint-every', '2', ...small]).status).toBe(0);
    const ck = join(run, 'checkpoints', 'step-00000002', 'model.safetensors');
    const bytes = readFileSync(ck);
    bytes[bytes.length - 3] ^= 0xff;
    writeFileSync(ck, bytes);
    const resumed = cli(['pretrain', '--objective', 'rts', '--data', data, '--out', run, '--budget', '2', '--checkpoint-every', '2', '--resume', ...small]);
    expect(resumed.status).toBe(1);
    expect(resumed.stderr).toMatch(/model\.safetensors: checksum mismatch/);
  });

  it('--precision f16 trains and says so (its loss scale and skipped steps), or is refused without shader-f16', async () => {
    const rt = await getRuntime();
    const run = join(root, 'f16');
    const r = cli(['pretrain', '--objective', 'mlm', '--data', data, '--out', run, '--budget', '3', '--precision', 'f16', '--loss-scale', '1e12', ...small]);
    if (!rt.caps.f16) {
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/--precision f16 needs the adapter feature 'shader-f16'/);
      return;
    }
    expect(r.status, r.stderr).toBe(0);
    // 1e12 overflows f16 at once: the first steps are skipped, each halving the scale.
    // (1e12 in f32 is 999999995904; three halvings.)
    expect(r.stdout).toMatch(/mixed precision: loss scale 124999999488, 3 overflowed steps skipped/);
    expect(r.stdout).toMatch(/training loss 6\.\d+ → 6\.\d+/); // the forward's losses of the skipped steps
    expect(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'))).toMatchObject({ precision: 'f16', lossScale: { initial: 1e12 } });
    const log = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(log.filter((m) => m.kind === 'skipped').map((m) => m.step)).toEqual([1, 2, 3]);
  });

  it('a diverging run stops with a clear message instead of training on NaN', () => {
    const run = join(root, 'nan');
    const r = cli(['pretrain', '--objective', 'rts', '--data', data, '--out', run, '--budget', '6', '--lr', '1e30', '--warmup', '0', ...small]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/non-finite (loss|gradient) at step \d/);
    expect(existsSync(join(run, 'config.json'))).toBe(true);
  });
});

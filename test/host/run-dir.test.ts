// A run directory belongs to one run: a fresh run refuses one that holds another (unless
// --overwrite, which clears it), a live process's lock keeps every other process out, and a
// dead process's lock is taken over.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { claimRunDirectory, releaseRunDirectory, runLockHolder } from '../../src/train/run-dir.js';
import { tempDir } from '../tmp.js';

describe('run directories', () => {
  it('a fresh run takes an empty or absent directory, refuses one holding a run, and --overwrite clears it', () => {
    const root = tempDir('electrolite-rundir-');
    const run = join(root, 'run');
    claimRunDirectory(run);
    expect(readdirSync(run)).toEqual(['run.lock']);
    writeFileSync(join(run, 'config.json'), '{}');
    mkdirSync(join(run, 'checkpoints'));
    expect(() => claimRunDirectory(run)).toThrow(/holds another run \(config\.json, checkpoints\): use --resume to continue it, another --out for a new run, or --overwrite to replace it/);
    expect(existsSync(join(run, 'config.json'))).toBe(true); // refused: nothing touched
    claimRunDirectory(run, { resume: true });
    expect(() => claimRunDirectory(run, { resume: true, overwrite: true })).toThrow(/contradict/);
    claimRunDirectory(run, { overwrite: true });
    expect(readdirSync(run)).toEqual(['run.lock']);
    releaseRunDirectory(run);
    expect(readdirSync(run)).toEqual([]);
  });

  it("another live process's lock refuses the directory, naming the process; a dead one's is taken over", async () => {
    const run = tempDir('electrolite-rundir-lock-');
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      writeFileSync(join(run, 'run.lock'), `${sleeper.pid}\n`);
      expect(runLockHolder(run)).toBe(sleeper.pid);
      expect(() => claimRunDirectory(run)).toThrow(new RegExp(`another electrolite process \\(pid ${sleeper.pid}\\) is training into this directory`));
      expect(() => claimRunDirectory(run, { overwrite: true })).toThrow(/another electrolite process/);
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((r) => sleeper.once('exit', r));
    }
    expect(runLockHolder(run)).toBeNull();
    claimRunDirectory(run);
    expect(readFileSync(join(run, 'run.lock'), 'utf8').trim()).toBe(String(process.pid));
    // A lock file from a process that already ended (its pid taken from a finished child).
    const ended = Number(spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout.trim());
    writeFileSync(join(run, 'run.lock'), `${ended}\n`);
    claimRunDirectory(run, { resume: true });
    expect(readFileSync(join(run, 'run.lock'), 'utf8').trim()).toBe(String(process.pid));
  });
});

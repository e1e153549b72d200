// Where a run keeps its record: the metrics log, the config and the checkpoints. The trainer
// writes through this interface only. Two kinds:
//   - a directory (the CLI): run-dir.ts's claim and lock, `metrics.jsonl` (metrics-log.ts),
//     `config.json`, and io/checkpoint.ts's atomic checkpoint directories;
//   - memory (the web page): the records in an array (the page's plots read them as they
//     come), the config, and the newest checkpoint's tensors, lost with the page.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkpointState, latestCheckpoint, loadLatestCheckpoint, saveCheckpoint, type CheckpointContents } from '../io/checkpoint.js';
import { MetricsLog } from './metrics-log.js';
import { claimRunDirectory } from './run-dir.js';
import { TrainingError } from './task.js';

/** The run's metrics: one record per write; a resume drops the records after its step. */
export interface MetricsSink {
  write(record: Record<string, unknown>): void;
  /** Drop the records of steps after `step` (they run again), then write `record`. */
  truncateAfter(step: number, record: Record<string, unknown>): void;
}

export interface RunStore {
  /** The run's identity in messages and config.json: an absolute directory, or a name. */
  readonly location: string;
  readonly log: MetricsSink;
  /** Make this the run's store before any GPU work: a fresh run refuses one holding another (unless `overwrite`), a resume needs one. */
  claim(opts: { resume?: boolean; overwrite?: boolean }): void;
  writeConfig(config: Record<string, unknown>): void;
  /** Writes a checkpoint; returns its name (a directory). */
  saveCheckpoint(c: CheckpointContents): string;
  /** The newest complete checkpoint's name, or null. */
  latestCheckpoint(warn?: (message: string) => void): string | null;
  /** A checkpoint's state without its tensors (preflight's checks). */
  checkpointState(name: string): { step: number; state: Record<string, unknown> };
  /** The newest checkpoint that verifies, or null when there is none. */
  loadLatestCheckpoint(warn?: (message: string) => void): { dir: string; contents: CheckpointContents } | null;
}

/** A run in directory `dir` (the CLI's --out). */
export function directoryRun(dir: string): RunStore {
  return {
    location: resolve(dir),
    log: new MetricsLog(join(dir, 'metrics.jsonl')),
    claim: (opts) => claimRunDirectory(dir, opts),
    writeConfig: (config) => writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n'),
    saveCheckpoint: (c) => saveCheckpoint(dir, c),
    latestCheckpoint: (warn) => latestCheckpoint(dir, warn),
    checkpointState: (name) => checkpointState(name),
    loadLatestCheckpoint: (warn) => loadLatestCheckpoint(dir, warn),
  };
}

/** A run held in memory (the web page's): records, config and the newest checkpoint. */
export class MemoryRun implements RunStore {
  readonly records: Record<string, unknown>[] = [];
  config: Record<string, unknown> | null = null;
  private newest: { name: string; contents: CheckpointContents } | null = null;
  readonly log: MetricsSink;

  /** `onRecord` sees every record as it is written (the page's live plots). */
  constructor(readonly location = 'memory', onRecord?: (record: Record<string, unknown>) => void) {
    const records = this.records;
    this.log = {
      write(record) {
        const r = { time: new Date().toISOString(), ...record };
        records.push(r);
        onRecord?.(r);
      },
      truncateAfter(step, record) {
        const kept = records.filter((r) => !(typeof r.step === 'number' && r.step > step));
        records.splice(0, records.length, ...kept);
        this.write(record);
      },
    };
  }

  claim(opts: { resume?: boolean; overwrite?: boolean }): void {
    if (opts.resume && opts.overwrite) throw new TrainingError('--resume and --overwrite contradict each other: continue the run, or replace it');
    if (!opts.resume && (this.records.length || this.newest) && !opts.overwrite) throw new TrainingError(`${this.location} holds another run: resume it, or start a new one`);
    if (!opts.resume && opts.overwrite) {
      this.records.length = 0;
      this.config = null;
      this.newest = null;
    }
  }
  writeConfig(config: Record<string, unknown>): void {
    this.config = structuredClone(config);
  }
  saveCheckpoint(c: CheckpointContents): string {
    // The trainer reads every tensor into fresh arrays for a checkpoint: nothing else holds them.
    this.newest = { name: `${this.location}/step-${String(c.step).padStart(8, '0')}`, contents: { step: c.step, tensors: c.tensors, state: structuredClone(c.state) } };
    return this.newest.name;
  }
  latestCheckpoint(): string | null {
    return this.newest?.name ?? null;
  }
  checkpointState(name: string): { step: number; state: Record<string, unknown> } {
    if (this.newest?.name !== name) throw new TrainingError(`${name}: no such checkpoint`);
    return { step: this.newest.contents.step, state: this.newest.contents.state };
  }
  loadLatestCheckpoint(): { dir: string; contents: CheckpointContents } | null {
    return this.newest ? { dir: this.newest.name, contents: this.newest.contents } : null;
  }
}

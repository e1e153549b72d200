// Pre-training as a TrainingTask: an objective (src/objectives/registry.ts) on a corpus made
// by `prepare` (shards + manifest, and the statistics the objective needs: unigram.json,
// clusters.json). The batches are the loader's token ids, a pure function of (seed, epoch,
// step); the graph is the objective's; checkpoints record the objective, the model config and
// the objective's own settings, and a resume refuses any difference.
import { createHash } from 'node:crypto';
import type { AttentionAlgorithm } from '../kernels/attention.js';
import { encoderParams, makeConfig, type EncoderConfig, type ParamSpec, type PresetName } from '../model/config.js';
import { checkObjectiveSettings, objectiveModule, ObjectiveOptionError, type ObjectiveName, type ObjectiveSettings, type PretrainGraph } from '../objectives/registry.js';
import type { ObjectiveStatistics } from '../objectives/common.js';
import { BatchLoader } from '../data/loader.js';
import { MANIFEST, readManifest, type Manifest } from '../data/shards.js';
import { parseClusters } from '../data/clusters.js';
import { parseUnigram } from '../data/stats.js';
import { directoryFiles, type DataFiles } from '../data/files.js';
import { initFromHf, describeInitFrom } from '../io/init-from.js';
import { TrainingError, type BatchSource, type OptimizerConfig, type TrainingTask } from './task.js';

export interface TrainConfig extends OptimizerConfig, ObjectiveSettings {
  objective: ObjectiveName;
  preset: PresetName;
  /** Overrides of the preset's model fields. */
  model?: Partial<EncoderConfig>;
  /** A directory made by `prepare`. */
  data: string;
  /** Start from a Hugging Face BERT/ELECTRA checkpoint directory (encoder, and the head when of the same kind). */
  initFrom?: string;
  maskProb: number;
  logEvery: number;
  evalEvery: number;
  checkpointEvery: number;
  /** Attention algorithm (default 'auto': measured per adapter). */
  attention?: AttentionAlgorithm | 'auto';
}

/** The parameters an objective trains: the encoder and the objective's own (its head; ELECTRA's generator). */
export function paramSpecsFor(objective: ObjectiveName, cfg: EncoderConfig, generatorSize?: number): ParamSpec[] {
  return [...encoderParams(cfg, ''), ...objectiveModule(objective).params(cfg, { generatorSize })];
}

/** The objective's settings out of a TrainConfig. */
function settingsOf(c: TrainConfig): ObjectiveSettings {
  return { generatorSize: c.generatorSize, rtsGenerator: c.rtsGenerator, unigramAlpha: c.unigramAlpha };
}

/** The statistics an objective needs, loaded from the prepared data. */
function loadStatistics(c: TrainConfig, files: DataFiles, manifest: Manifest, settings: ObjectiveSettings): ObjectiveStatistics {
  const stats: ObjectiveStatistics = {};
  for (const need of objectiveModule(c.objective).statistics(settings)) {
    if (need === 'clusters') {
      const f = manifest.files.clusters;
      if (!f) throw new TrainingError(`${files.location}: no clusters file in the manifest (run \`prepare\` again)`);
      const cl = parseClusters(files.text(f), files.path(f));
      stats.clusters = { assignment: cl.assignment, k: cl.k };
    } else {
      const f = manifest.files.unigram ?? 'unigram.json';
      if (!files.exists(f)) throw new TrainingError(`${files.path(f)}: missing; the unigram generator needs the token counts (run \`prepare\` again)`);
      stats.unigram = parseUnigram(files.text(f), files.path(f)).counts;
    }
  }
  return stats;
}

/** A loader's batches as the graph's inputs. */
function tokenBatches(loader: BatchLoader): BatchSource {
  return { stepsPerEpoch: loader.stepsPerEpoch, batch: (epoch, step) => ({ ids: loader.batch(epoch, step) }) };
}

/**
 * Pre-training `c.objective` on the prepared data in `c.data`, or in `files` when given (the
 * web page's fetched corpus; `c.data` then only names it).
 */
export function pretrainingTask(c: TrainConfig, files: DataFiles = directoryFiles(c.data)): TrainingTask<PretrainGraph> {
  const settings = settingsOf(c);
  try {
    checkObjectiveSettings(c.objective, settings);
  } catch (e) {
    if (e instanceof ObjectiveOptionError) throw new TrainingError(e.message);
    throw e;
  }
  const module = objectiveModule(c.objective);
  const manifest = readManifest(files);
  const T = manifest.seqLen;
  const cfg = makeConfig(c.preset, { vocabSize: manifest.vocabSize, maxPositions: Math.max(512, T), ...c.model });
  if (cfg.vocabSize !== manifest.vocabSize) throw new TrainingError(`model vocabulary ${cfg.vocabSize} differs from the data's (${manifest.vocabSize}, ${files.path(MANIFEST)})`);
  // readManifest above verified every shard (hashes, token ids): the loaders need not again.
  const loader = new BatchLoader(files, { batchSize: c.batch, seed: c.seed, split: 'train', verify: false });
  if (loader.stepsPerEpoch < 1) throw new TrainingError(`${files.location}: ${loader.sequences} training sequences cannot fill one batch of ${c.batch}`);
  const validation = manifest.splits.validation.sequences >= c.batch ? tokenBatches(new BatchLoader(files, { batchSize: c.batch, seed: c.seed, split: 'validation', verify: false })) : null;
  const statistics = loadStatistics(c, files, manifest, settings);
  const s = manifest.special;
  const special = { pad: s.pad, mask: s.mask, ids: [s.pad, s.unk, s.cls, s.sep, s.mask] };
  const own = module.checkpointState(cfg, settings);
  const dataIdentity = { path: files.location, manifest: createHash('sha256').update(files.text(MANIFEST)).digest('hex') };
  return {
    model: cfg,
    seqLen: T,
    params: paramSpecsFor(c.objective, cfg, c.generatorSize),
    train: tokenBatches(loader),
    validation,
    build: (b) =>
      module.build({
        rt: b.rt,
        // The evaluation graph runs without dropout.
        cfg: b.mode === 'train' ? cfg : { ...cfg, hiddenDropout: 0, attentionDropout: 0 },
        params: b.params,
        batch: c.batch,
        seqLen: T,
        step: b.step,
        dropoutRng: b.dropoutRng,
        seed: c.seed,
        maskProb: c.maskProb,
        special,
        lossScale: b.lossScale,
        mode: b.mode,
        attention: c.attention,
        encoderShare: b.encoderShare,
        settings,
        statistics,
        training: b.training,
        mixed: b.mixed,
      }),
    mixedPrecision: true,
    initialize(rt, params) {
      if (!c.initFrom) return undefined;
      const report = initFromHf(c.initFrom, cfg, params, rt);
      return { message: describeInitFrom(report), record: { kind: 'init-from', source: c.initFrom, loaded: report.loaded.length, fresh: report.fresh, unused: report.unused } };
    },
    checkpointState: () => ({ objective: c.objective, config: cfg, ...own, data: dataIdentity, maskProb: c.maskProb }),
    checkResume(saved, dir) {
      if (saved.objective !== c.objective) throw new TrainingError(`${dir}: checkpoint of objective '${saved.objective}', this run trains '${c.objective}'`);
      module.checkResume?.(saved, cfg, settings, dir);
      const theirs = saved.config as Record<string, unknown> | undefined, mine = cfg as unknown as Record<string, unknown>;
      const diff = Object.keys(cfg).filter((k) => JSON.stringify(theirs?.[k]) !== JSON.stringify(mine[k]));
      if (diff.length) throw new TrainingError(`${dir}: the checkpoint's model differs from this run's in ${diff.join(', ')}`);
      // The same prepared data (by its manifest's content, wherever it now lies) and selection rate.
      const data = saved.data as { manifest?: string; path?: string } | undefined;
      if (data?.manifest !== undefined && data.manifest !== dataIdentity.manifest)
        throw new TrainingError(`${dir}: the checkpoint was trained on other data (${data.path}) than --data ${c.data}: their manifest.json differ`);
      if (saved.maskProb !== undefined && saved.maskProb !== c.maskProb) throw new TrainingError(`${dir}: the checkpoint selects with --mask-prob ${saved.maskProb}, this run with ${c.maskProb}`);
    },
    describe: () => ({ ...c, data: files.location, model: cfg, ...own, ...(settings.rtsGenerator === 'unigram' ? { unigramAlpha: (own.rts as { alpha: number }).alpha } : {}) }),
  };
}

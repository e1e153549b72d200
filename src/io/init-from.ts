// `--init-from DIR`: start a run's model from a Hugging Face BERT / ELECTRA checkpoint
// (model.safetensors + config.json; F32, F16 or BF16 stored), e.g. a public checkpoint on
// disk or an electrolite export. The checkpoint's config must agree with the run's model
// config on every field that shapes a tensor or changes the function; the encoder is
// loaded, the head too when the checkpoint has the same kind (MLM or detection); whatever
// else the run has (another head, the ELECTRA generator) stays freshly initialised.
import type { Runtime } from '../gpu/runtime.js';
import type { EncoderConfig } from '../model/config.js';
import { param, type ModelParams } from '../model/params.js';
import { readHfCheckpoint, HfFormatError, type HfArchitecture, HF_FIELD } from './hf.js';

export class InitFromError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InitFromError';
  }
}

/** Fields that must agree: they size a tensor or change what the model computes. */
const MUST_AGREE = ['vocabSize', 'hiddenSize', 'numLayers', 'numHeads', 'intermediateSize', 'maxPositions', 'typeVocabSize', 'hiddenAct', 'layerNormEps', 'preLayerNorm'] as const;

const HF_NAME: Record<(typeof MUST_AGREE)[number], string> = {
  ...HF_FIELD,
  hiddenAct: 'hidden_act',
  layerNormEps: 'layer_norm_eps',
  preLayerNorm: '(post-LN in BERT/ELECTRA)',
};

/** The fields on which two configs differ, one line each ('' when they agree). */
export function configDifferences(run: EncoderConfig, ck: EncoderConfig): string[] {
  const out: string[] = [];
  for (const k of MUST_AGREE) if (run[k] !== ck[k]) out.push(`${k} (${HF_NAME[k]}): the run has ${JSON.stringify(run[k])}, the checkpoint ${JSON.stringify(ck[k])}`);
  return out;
}

export interface InitFromReport {
  source: string;
  arch: HfArchitecture;
  /** Parameters taken from the checkpoint. */
  loaded: string[];
  /** The model's parameters the checkpoint does not provide (they keep their initialisation). */
  fresh: string[];
  /** Checkpoint tensors the model has no place for (another head), and known unused ones (pooler, NSP). */
  unused: string[];
}

/**
 * Load a Hugging Face checkpoint's parameters into a model: a GPU `ModelParams` (needs
 * `rt`) or a host map of float32 arrays by internal name (replaced in place). Throws
 * InitFromError listing the differing config fields, or the checkpoint's missing / unknown /
 * mis-sized tensors.
 */
export function initFromHf(dir: string, cfg: EncoderConfig, target: ModelParams | Map<string, Float32Array>, rt?: Runtime): InitFromReport {
  let ck;
  try {
    ck = readHfCheckpoint(dir);
  } catch (e) {
    if (e instanceof HfFormatError) throw new InitFromError(`--init-from ${dir}: ${e.message}`);
    throw new InitFromError(`--init-from ${dir}: ${(e as Error).message}`);
  }
  const diffs = configDifferences(cfg, ck.config);
  if (diffs.length)
    throw new InitFromError(`--init-from ${dir}: its config.json disagrees with the run's model config (${diffs.length} field${diffs.length > 1 ? 's' : ''}):\n  ${diffs.join('\n  ')}`);
  const isGpu = !(target instanceof Map);
  if (isGpu && !rt) throw new InitFromError('initFromHf: loading into GPU parameters needs the runtime');
  const names = isGpu ? (target as ModelParams).specs.map((s) => s.name) : [...(target as Map<string, Float32Array>).keys()];
  const size = (name: string) => (isGpu ? param(target as ModelParams, name).size : (target as Map<string, Float32Array>).get(name)!.length);
  // Every encoder tensor of the model must come from the checkpoint (readHfCheckpoint has
  // already checked the file holds all of them for its config).
  const encoderMissing = names.filter((n) => (n.startsWith('embeddings.') || n.startsWith('encoder.')) && !ck.params.has(n));
  if (encoderMissing.length) throw new InitFromError(`--init-from ${dir}: the checkpoint lacks encoder tensors the model needs (${encoderMissing.length}): ${encoderMissing.join(', ')}`);
  const loaded: string[] = [];
  const fresh: string[] = [];
  const wrong: string[] = [];
  for (const n of names) {
    const v = ck.params.get(n);
    if (!v) {
      fresh.push(n);
      continue;
    }
    if (v.length !== size(n)) {
      wrong.push(`${n}: checkpoint has ${v.length} values, the model ${size(n)}`);
      continue;
    }
    loaded.push(n);
  }
  if (wrong.length) throw new InitFromError(`--init-from ${dir}: tensor sizes disagree with the model:\n  ${wrong.join('\n  ')}`);
  for (const n of loaded) {
    const v = ck.params.get(n)!;
    if (isGpu) rt!.write(param(target as ModelParams, n), v);
    else (target as Map<string, Float32Array>).set(n, v);
  }
  const want = new Set(names);
  const unused = [...[...ck.params.keys()].filter((k) => !want.has(k)), ...ck.ignored];
  return { source: dir, arch: ck.arch, loaded, fresh, unused };
}

/** One line for the log: what came from where. */
export function describeInitFrom(r: InitFromReport): string {
  const heads = (xs: string[]) => [...new Set(xs.map((n) => n.split('.')[0]))].join(', ');
  return (
    `init-from ${r.source} (${r.arch}): loaded ${r.loaded.length} tensors` +
    (r.fresh.length ? `; ${r.fresh.length} freshly initialised (${heads(r.fresh)})` : '') +
    (r.unused.length ? `; ${r.unused.length} unused from the checkpoint (${heads(r.unused)})` : '')
  );
}

// ELECTRA (replaced-token detection with a small learned generator), as one forward and one
// backward op list:
//
//   forward:  selection + MLM 80/10/10 corruption (the generator's input) + a second run of
//             the same selection (a clean copy: the discriminator's input)
//             → generator encoder (embeddings SHARED with the discriminator, then its own
//               embeddings_project and layers, prefix 'generator.')
//             → generator head at the selected positions (generator_predictions.* + tied
//               decoder + generator_lm_head.bias), xent chunk by chunk, each chunk's logits
//               followed by its Gumbel-max op (special ids excluded), which writes the samples
//               into the discriminator's ids
//             → detection labels ("replaced" = sample ≠ original) → discriminator encoder →
//               detection head (BCE at every real position, ×λ)
//   backward: detection head → discriminator → generator head → generator.
//
// Loss L_gen + λ·L_disc. No gradient flows through sampling. Both losses' gradients reach
// the shared embeddings (the decoder too, being tied): parameter gradients accumulate. The
// generator's dropout streams are offset (GENERATOR_STREAM_BASE) from the discriminator's.
import type { Op } from '../gpu/runtime.js';
import { bceTotals } from '../kernels/bce.js';
import { corrupt, gumbelSample, selectPositions, type GumbelOps } from '../kernels/sampling.js';
import { xentTotals } from '../kernels/xent.js';
import { detectionHeadParams, generatorConfig, generatorParams, type EncoderConfig } from '../model/config.js';
import type { Encoder } from '../model/encoder.js';
import type { HostArray } from '../model/graph.js';
import { GENERATOR_HEAD, type MlmHead } from '../model/heads.js';
import { buildEncoderWithHead } from '../model/assembly.js';
import { ratio } from '../model/metrics.js';
import { DETECTION_LAMBDA, STREAM, detectionEvaluation, detectionFlopsPerToken, encoderForwardFlops, mlmHeadForwardFlops, detectionTargets, encoderOptions, readSelection, selectionBase, type ObjectiveContext, type ObjectiveModule, type ObjectiveSettings, type PretrainGraph, type PretrainMetrics } from './common.js';

/** Dropout stream offset of the generator (the discriminator's streams are 0 … 16 + layers). */
export const GENERATOR_STREAM_BASE = 0x1000;
export const DEFAULT_GENERATOR_SIZE = 0.5;

/** The generator's half of an ELECTRA step graph. */
export interface ElectraParts {
  generator: Encoder;
  genHead: MlmHead;
  gumbel: GumbelOps;
}

export interface ElectraGraph extends PretrainGraph {
  electra: ElectraParts;
}

export function electraGeneratorConfig(disc: EncoderConfig, s: ObjectiveSettings): EncoderConfig {
  return generatorConfig(disc, s.generatorSize ?? DEFAULT_GENERATOR_SIZE);
}

const sizes = (c: EncoderConfig) => `hidden ${c.hiddenSize}, ${c.numHeads} heads, FFN ${c.intermediateSize}`;

export const electra: Omit<ObjectiveModule, 'build'> & { build(ctx: ObjectiveContext): Promise<ElectraGraph> } = {
  summary: "MLM corruption fed to a small learned generator whose samples replace the selected positions; generator: vocabulary; discriminator: detection ×λ = 50",
  head: 'detection',
  settings: ['generatorSize'],
  statistics: () => [],
  params: (cfg, s) => [...detectionHeadParams(cfg), ...generatorParams(cfg, electraGeneratorConfig(cfg, s))],
  checkpointState: (cfg, s) => ({ generator: electraGeneratorConfig(cfg, s) }),
  // The generator (encoder, and its head at the selected positions) and the discriminator with the detection head.
  forwardFlopsPerToken(cfg, s, T, p) {
    const gen = electraGeneratorConfig(cfg, s);
    return encoderForwardFlops(gen, T, p) + p * mlmHeadForwardFlops(cfg, gen.hiddenSize, cfg.hiddenSize) + detectionFlopsPerToken(cfg, T);
  },
  checkResume(saved, cfg, s, where) {
    const theirs = saved.generator as EncoderConfig | undefined, mine = electraGeneratorConfig(cfg, s);
    if (theirs && (theirs.hiddenSize !== mine.hiddenSize || theirs.numHeads !== mine.numHeads || theirs.intermediateSize !== mine.intermediateSize))
      throw new Error(`${where}: the checkpoint's generator (${sizes(theirs)}) differs from this run's (${sizes(mine)}): check --generator-size`);
  },
  async build(ctx) {
    const { rt, cfg, lossScale: scale } = ctx;
    // In an evaluation graph cfg has dropout 0, and so has the generator made from it.
    const genCfg = electraGeneratorConfig(cfg, ctx.settings);
    const base = await selectionBase(ctx);
    const sel = base.sel;
    const mask = await corrupt(rt, 'mlm', base.ids, base.vt, sel, ctx.step, { seed: ctx.seed, stream: STREAM.corrupt, maskId: ctx.special.mask });
    // The discriminator's input: a second run of the same selection (same seed and stream,
    // so the same list) gives a clean copy whose listed positions receive the samples.
    const disc = await selectPositions(rt, base.ids, base.vt, ctx.step, base.selectOptions);
    base.own.push(disc);
    const labels = await detectionTargets(ctx, base, disc.outIds);
    const targets = { target: labels.target, weight: labels.weight };
    const generator = await buildEncoderWithHead(rt, genCfg, ctx.params, 'generator.', { ids: sel.outIds, types: base.types, lengths: base.lengths }, { kind: 'mlm', targets: sel, lossWeight: scale, names: GENERATOR_HEAD, activation: 'gelu', label: 'generator_head' }, {
      ...encoderOptions(ctx, 'generator'),
      streamBase: GENERATOR_STREAM_BASE,
      embeddingsPrefix: '',
    });
    const x = generator.head.xent;
    // The generator's logits rows follow sel.list (= disc.list); the samples go to disc.outIds.
    const gumbel = await gumbelSample(rt, { ...sel, outIds: disc.outIds }, base.vt, x.chunks.map((c) => ({ logits: x.logitsTile, v0: c.v0, vcount: c.vcount })), ctx.step, { seed: ctx.seed, stream: STREAM.gumbel });
    const discriminator = await buildEncoderWithHead(rt, cfg, ctx.params, '', { ids: disc.outIds, types: base.types, lengths: base.lengths }, { kind: 'detection', targets, lambda: DETECTION_LAMBDA * scale }, encoderOptions(ctx, 'discriminator'));
    const forward: Op[] = [...base.ops, mask, ...disc.ops, ...generator.encoder.forwardOps, ...generator.head.prologue];
    // Each chunk's Gumbel op reads the logits tile before the next chunk overwrites it.
    x.forwardChunks.forEach((ops, c) => forward.push(...ops, gumbel.ops[c]));
    forward.push(x.finalize, labels.op, ...discriminator.forward);
    const cap = sel.capacity;
    const read = (values: HostArray[]): PretrainMetrics => {
      const g = xentTotals(values[1], cap), d = bceTotals(values[2]);
      const genLoss = g.loss / scale, discLoss = d.loss / scale;
      return { loss: genLoss + discLoss, accuracy: ratio(d.correct, d.count), overflow: readSelection(values), electra: { genLoss, discLoss, genAccuracy: ratio(g.correct, g.valid) } };
    };
    const tensors = [sel.meta, x.stats, discriminator.head.bce.out];
    return {
      inputs: { ids: base.ids },
      ids: base.ids,
      lengths: base.lengths,
      types: base.types,
      objective: { inputIds: sel.outIds, selection: sel, vocab: base.vt, ...targets, electra: { discIds: disc.outIds } },
      encoder: discriminator.encoder,
      detection: discriminator.head,
      electra: { generator: generator.encoder, genHead: generator.head, gumbel },
      forward,
      backward: [...discriminator.backward, ...generator.backward],
      setStep(micro) {
        generator.encoder.setStep(micro);
        discriminator.encoder.setStep(micro);
      },
      stepTargets: () => [...generator.encoder.stepTargets(), ...discriminator.encoder.stepTargets()],
      metrics: { tensors, read },
      evaluation: (opts = {}) => detectionEvaluation(tensors, discriminator.head.logits, targets, read, opts.onBatch, { labels: sel.labels, statsIndex: 1 }),
      state: {},
      release() {
        discriminator.release();
        gumbel.release();
        generator.release();
        for (const o of base.own) o.release();
        rt.release(...base.tensors);
      },
    };
  },
};

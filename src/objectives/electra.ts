// ELECTRA (replaced-token detection with a small learned generator) as one forward and one
// backward op list over a built objective (src/objectives/objective.ts, name 'electra'):
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
import type { Runtime, Op } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import type { BuiltObjective } from './objective.js';
import type { GumbelOps } from '../kernels/sampling.js';
import type { EncoderConfig } from '../model/config.js';
import type { ModelParams } from '../model/params.js';
import { Encoder, type EncoderOptions } from '../model/encoder.js';
import type { AttentionScratch } from '../kernels/attention.js';
import { buildDetectionHead, buildMlmHead, GENERATOR_HEAD, type DetectionHead, type MlmHead } from '../model/heads.js';

/** Dropout stream offset of the generator (the discriminator's streams are 0 … 16 + layers). */
export const GENERATOR_STREAM_BASE = 0x1000;

export interface ElectraGraph {
  generator: Encoder;
  discriminator: Encoder;
  genHead: MlmHead;
  detection: DetectionHead;
  gumbel: GumbelOps;
  forward: Op[];
  backward: Op[];
  /** Set the attention-dropout step of both encoders. */
  setStep(step: number): void;
  stepTargets(): { buffer: GPUBuffer; offset: number }[];
  release(): void;
}

export interface ElectraBuild {
  disc: EncoderConfig;
  gen: EncoderConfig;
  params: ModelParams;
  objective: BuiltObjective;
  types: Tensor;
  lengths: Tensor;
  dropoutRng: Tensor;
  seed: number;
  /** Weight of the generator's loss (1, or 1/accumulate) and λ of the detection loss (50, or 50/accumulate). */
  genWeight: number;
  lambda: number;
  forwardOnly?: boolean;
  attention?: EncoderOptions['attention'];
  /** Materialised-attention scratch of each encoder, shared with other graphs (see EncoderOptions). */
  attentionScratch?: { generator: AttentionScratch; discriminator: AttentionScratch };
}

export async function buildElectra(rt: Runtime, a: ElectraBuild): Promise<ElectraGraph> {
  const o = a.objective;
  if (!o.electra || !o.target || !o.weight) throw new Error(`electra: objective '${o.name}' has no ELECTRA sampling (build it with name 'electra')`);
  const fo = Boolean(a.forwardOnly);
  const generator = await Encoder.build(rt, a.gen, a.params, 'generator.', { ids: o.inputIds, types: a.types, lengths: a.lengths }, {
    dropoutRng: a.dropoutRng,
    seed: a.seed,
    streamBase: GENERATOR_STREAM_BASE,
    embeddingsPrefix: '',
    forwardOnly: fo,
    attention: a.attention,
    attentionScratch: a.attentionScratch?.generator,
  });
  const sel = o.selection;
  // ElectraGeneratorPredictions uses erf GELU whatever hidden_act says.
  const genHead = await buildMlmHead(rt, a.gen, a.params, 'embeddings.word_embeddings.weight', generator.hidden, generator.dHidden ?? generator.hidden, { list: sel.list, labels: sel.labels, meta: sel.meta }, {
    lossWeight: a.genWeight,
    forwardOnly: fo,
    names: GENERATOR_HEAD,
    activation: 'gelu',
    label: 'generator_head',
  });
  const x = genHead.xent;
  const gumbel = await o.electra.sample(x.chunks.map((c) => ({ logits: x.logitsTile, v0: c.v0, vcount: c.vcount })));
  const discriminator = await Encoder.build(rt, a.disc, a.params, '', { ids: o.electra.discIds, types: a.types, lengths: a.lengths }, { dropoutRng: a.dropoutRng, seed: a.seed, forwardOnly: fo, attention: a.attention, attentionScratch: a.attentionScratch?.discriminator });
  const detection = await buildDetectionHead(rt, a.disc, a.params, discriminator.hidden, discriminator.dHidden ?? discriminator.hidden, { target: o.target, weight: o.weight }, { lambda: a.lambda, forwardOnly: fo });
  const forward: Op[] = [...o.corruptOps, ...generator.forwardOps, ...genHead.prologue];
  // Each chunk's Gumbel op reads the logits tile before the next chunk overwrites it.
  x.forwardChunks.forEach((ops, c) => forward.push(...ops, gumbel.ops[c]));
  forward.push(x.finalize, ...o.electra.labelOps, ...discriminator.forwardOps, ...detection.forward);
  const backward: Op[] = fo ? [] : [...detection.backward, ...discriminator.backwardOps, ...genHead.backward, ...generator.backwardOps];
  return {
    generator,
    discriminator,
    genHead,
    detection,
    gumbel,
    forward,
    backward,
    setStep(step: number) {
      generator.setStep(step);
      discriminator.setStep(step);
    },
    stepTargets() {
      return [...generator.stepTargets(), ...discriminator.stepTargets()];
    },
    release() {
      detection.release();
      discriminator.release();
      gumbel.release();
      genHead.release();
      generator.release();
    },
  };
}

// Features of a frozen encoder for the linear probe (src/eval/probe.ts): each example's final
// hidden states averaged over its real tokens ([CLS] and [SEP] included, padding not),
// computed once on the GPU, forward only, no dropout. Mean pooling rather than the [CLS] row:
// an encoder pre-trained without a sentence-level objective (all five here) has no reason to
// summarise the sequence in [CLS], and the probe should measure what pre-training put into
// the representation, not whether one position learned to collect it.
import type { Runtime } from '../gpu/runtime.js';
import { sequenceLengths } from '../kernels/lengths.js';
import { dropoutRng } from '../kernels/dropout.js';
import { encoderParams, type EncoderConfig } from '../model/config.js';
import { Encoder } from '../model/encoder.js';
import { allocParams, initParams, loadParams, releaseParams } from '../model/params.js';

/** n × h mean-pooled hidden states (row-major float64) of `ids`/`types` (one array per example). */
export async function encoderFeatures(
  rt: Runtime,
  cfg: EncoderConfig,
  encoder: Map<string, Float32Array> | undefined,
  examples: { ids: number[][]; types: number[][] },
  o: { batch: number; seqLen: number; pad: number; seed: number },
): Promise<Float64Array> {
  const { batch: B, seqLen: T, pad } = o;
  const h = cfg.hiddenSize, n = examples.ids.length;
  const frozen: EncoderConfig = { ...cfg, hiddenDropout: 0, attentionDropout: 0 };
  const params = allocParams(rt, encoderParams(frozen, ''));
  // Random weights (the floor) come from the same seeded initialisation as training's.
  if (encoder) loadParams(rt, params, encoder, 'features');
  else await initParams(rt, params, o.seed);
  const ids = rt.empty([B, T], 'u32', 'features.ids'), types = rt.empty([B, T], 'u32', 'features.types'), lengths = rt.empty([B], 'u32', 'features.lengths');
  const rng = dropoutRng(rt, 0);
  const enc = await Encoder.build(rt, frozen, params, '', { ids, types, lengths }, { dropoutRng: rng, seed: 0, forwardOnly: true });
  const lengthsOp = await sequenceLengths(rt, ids, lengths, pad);
  const out = new Float64Array(n * h);
  try {
    for (let start = 0; start < n; start += B) {
      const hostIds = new Uint32Array(B * T).fill(pad), hostTypes = new Uint32Array(B * T);
      const count = Math.min(B, n - start);
      for (let b = 0; b < count; b++) {
        hostIds.set(examples.ids[start + b], b * T);
        hostTypes.set(examples.types[start + b], b * T);
      }
      rt.write(ids, hostIds);
      rt.write(types, hostTypes);
      await rt.run(lengthsOp, ...enc.forwardOps);
      const hidden = (await rt.read(enc.hidden)) as Float32Array;
      for (let b = 0; b < count; b++) {
        const len = examples.ids[start + b].length, row = (start + b) * h;
        for (let t = 0; t < len; t++) for (let i = 0; i < h; i++) out[row + i] += hidden[(b * T + t) * h + i] / len;
      }
    }
  } finally {
    enc.release();
    rt.release(ids, types, lengths, rng);
    releaseParams(rt, params);
  }
  return out;
}

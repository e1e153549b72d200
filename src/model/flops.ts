// Model FLOPs from the model's own shapes (multiply-adds count 2), per token of a sequence of
// T: what a study's compute axis counts. Training is forward + backward ≈ 3 × forward (the
// backward computes two products per forward one); embeddings, LayerNorm, softmax and the
// optimizer are left out, as in the usual 6·N·D accounting.
import type { EncoderConfig } from './config.js';

/**
 * The encoder's forward FLOPs per token: per layer the q, k, v, output and FFN products, and
 * attention's two T-long products. `outputFraction`: the share of positions whose final
 * hidden states a head reads (the MLM head's selection probability); a post-LN encoder runs
 * its last layer's query projection, attention, output projection and FFN at those alone
 * (EncoderOptions.outputRows; k and v stay every position's), with either attention
 * algorithm.
 */
export function encoderForwardFlops(c: EncoderConfig, T: number, outputFraction = 1): number {
  const h = c.hiddenSize, F = c.intermediateSize, ffn = 2 * 2 * h * F;
  const atRows = 2 * 2 * h * h + ffn + 2 * 2 * T * h; // q and output projections, FFN, attention
  const lastSaved = c.preLayerNorm ? 0 : (1 - outputFraction) * atRows;
  return c.numLayers * (2 * 4 * h * h + ffn + 2 * 2 * T * h) - lastSaved;
}

/** An MLM-style head's forward FLOPs per predicted token: dense h → E and the tied decoder E → V. */
export function mlmHeadForwardFlops(c: EncoderConfig, h = c.hiddenSize, E = c.hiddenSize): number {
  return 2 * h * E + 2 * E * c.vocabSize;
}

/** The detection head's forward FLOPs per token: dense h → h and h → 1. */
export function detectionHeadForwardFlops(c: EncoderConfig): number {
  return 2 * c.hiddenSize * c.hiddenSize + 2 * c.hiddenSize;
}

/** Training FLOPs from forward FLOPs. */
export const TRAINING_FLOPS_PER_FORWARD = 3;

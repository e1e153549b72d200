// Where each dropout site of an encoder draws its mask. Hidden dropout (shaders/dropout.wgsl)
// keys Philox by (seed, step, stream); attention-probability dropout (the attention kernels)
// by (seed, stream, step) in its own counter layout. One table, used by the GPU encoder's
// forward and backward and by the float64 reference, so a site's backward regenerates its
// own forward mask by construction — and the dropout-on gradient tests catch a call site
// that names another site's stream.
//
// `base` separates encoders that share a step: the discriminator uses 0, the ELECTRA
// generator GENERATOR_STREAM_BASE (src/objectives/electra.ts).
export const DROPOUT_SITES = {
  /** After the embeddings' LayerNorm. */
  embeddings: (base: number) => base,
  /** After layer l's attention output projection. */
  attentionOutput: (base: number, l: number) => base + 1 + 2 * l,
  /** After layer l's FFN output projection. */
  ffnOutput: (base: number, l: number) => base + 2 + 2 * l,
  /** On layer l's attention probabilities (a separate counter space: no clash with the above). */
  attentionProbs: (base: number, l: number) => base + 16 + l,
  /** On the classification head's pooled output (above any layer's hidden-dropout streams). */
  classifier: (base: number) => base + 0x800,
} as const;

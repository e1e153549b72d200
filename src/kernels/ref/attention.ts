// Float64 reference for fused attention (forward and backward), with the same dropout mask
// as shaders/attention*.wgsl. Plain loops, written for clarity.
//
// Layout: qkv [B, T, 3·H·D] (all heads' Q, then K, then V; head h at columns h·D..h·D+D-1 of
// each third), out [B, T, H·D], lse [B, H, T], lengths [B] (valid tokens, padding at the end).
// Keys j ≥ length get probability 0; every query row (padded ones too) attends normally over
// the valid keys. A sequence of length 0 gives out = 0, lse = 0 and zero gradients.
import { philox4x32_10, unit } from './rng.js';

export interface AttentionDims {
  B: number;
  T: number;
  H: number;
  D: number;
}

export interface DropoutSpec {
  /** Probability of dropping an attention probability, 0 ≤ p < 1. */
  p: number;
  seed: number;
  /** Separates users of one (seed, step), e.g. the layer index. */
  stream?: number;
  step?: number;
}

/**
 * Whether attention probability (b, h, i, j) is kept: word j&3 of
 * philox4x32_10((j>>2, i, b·H+h, step), (seed, stream)), kept iff unit(word) ≥ p.
 */
export function dropoutKeep(d: DropoutSpec, H: number, b: number, h: number, i: number, j: number): boolean {
  const r = philox4x32_10([j >>> 2, i, b * H + h, d.step ?? 0], [d.seed, d.stream ?? 0]);
  return unit(r[j & 3]) >= d.p;
}

function clampLen(len: number, T: number): number {
  return Math.max(0, Math.min(len, T));
}

/** Dropout-free probabilities P[i, j] (i < T, j < len) of one (b, h), and the row lse. */
function probs(qkv: ArrayLike<number>, dims: AttentionDims, len: number, b: number, h: number, scale: number): { P: Float64Array; lse: Float64Array } {
  const { T, H, D } = dims;
  const W = 3 * H * D;
  const P = new Float64Array(T * T);
  const lse = new Float64Array(T);
  for (let i = 0; i < T; i++) {
    if (len === 0) continue;
    const qo = (b * T + i) * W + h * D;
    let m = -Infinity;
    const s = new Float64Array(len);
    for (let j = 0; j < len; j++) {
      const ko = (b * T + j) * W + H * D + h * D;
      let acc = 0;
      for (let d = 0; d < D; d++) acc += qkv[qo + d] * qkv[ko + d];
      s[j] = acc * scale;
      m = Math.max(m, s[j]);
    }
    let l = 0;
    for (let j = 0; j < len; j++) l += Math.exp(s[j] - m);
    lse[i] = m + Math.log(l);
    for (let j = 0; j < len; j++) P[i * T + j] = Math.exp(s[j] - lse[i]);
  }
  return { P, lse };
}

/** The dropout factor of (b, h, i, j): 1/(1−p) if kept, 0 if dropped (1 without dropout). */
function factor(drop: DropoutSpec | undefined, H: number, b: number, h: number, i: number, j: number): number {
  if (!drop || drop.p === 0) return 1;
  return dropoutKeep(drop, H, b, h, i, j) ? 1 / (1 - drop.p) : 0;
}

export function refAttentionForward(
  qkv: ArrayLike<number>,
  lengths: ArrayLike<number>,
  dims: AttentionDims,
  scale = 1 / Math.sqrt(dims.D),
  drop?: DropoutSpec,
): { out: Float64Array; lse: Float64Array } {
  const { B, T, H, D } = dims;
  const W = 3 * H * D;
  const out = new Float64Array(B * T * H * D);
  const lse = new Float64Array(B * H * T);
  for (let b = 0; b < B; b++) {
    const len = clampLen(lengths[b], T);
    for (let h = 0; h < H; h++) {
      const { P, lse: l } = probs(qkv, dims, len, b, h, scale);
      lse.set(l, (b * H + h) * T);
      for (let i = 0; i < T; i++) {
        const oo = (b * T + i) * H * D + h * D;
        for (let j = 0; j < len; j++) {
          const w = P[i * T + j] * factor(drop, H, b, h, i, j);
          const vo = (b * T + j) * W + 2 * H * D + h * D;
          for (let d = 0; d < D; d++) out[oo + d] += w * qkv[vo + d];
        }
      }
    }
  }
  return { out, lse };
}

/** dqkv [B, T, 3·H·D] from dOut [B, T, H·D] (recomputes the forward in float64). */
export function refAttentionBackward(
  qkv: ArrayLike<number>,
  lengths: ArrayLike<number>,
  dout: ArrayLike<number>,
  dims: AttentionDims,
  scale = 1 / Math.sqrt(dims.D),
  drop?: DropoutSpec,
): Float64Array {
  const { B, T, H, D } = dims;
  const W = 3 * H * D;
  const dqkv = new Float64Array(B * T * W);
  for (let b = 0; b < B; b++) {
    const len = clampLen(lengths[b], T);
    for (let h = 0; h < H; h++) {
      const { P } = probs(qkv, dims, len, b, h, scale);
      for (let i = 0; i < T; i++) {
        const qo = (b * T + i) * W + h * D;
        const go = (b * T + i) * H * D + h * D;
        // dP̃[j] = dO_i · v_j;  dP = dP̃ ∘ mask/(1−p);  dS = P ∘ (dP − Σ_j P∘dP)
        const dP = new Float64Array(len);
        let rowDot = 0;
        for (let j = 0; j < len; j++) {
          const vo = (b * T + j) * W + 2 * H * D + h * D;
          let acc = 0;
          for (let d = 0; d < D; d++) acc += dout[go + d] * qkv[vo + d];
          const f = factor(drop, H, b, h, i, j);
          dP[j] = acc * f;
          rowDot += P[i * T + j] * dP[j];
          // dV_j += P̃_ij · dO_i
          for (let d = 0; d < D; d++) dqkv[vo + d] += P[i * T + j] * f * dout[go + d];
        }
        for (let j = 0; j < len; j++) {
          const ko = (b * T + j) * W + H * D + h * D;
          const ds = P[i * T + j] * (dP[j] - rowDot) * scale;
          for (let d = 0; d < D; d++) {
            dqkv[qo + d] += ds * qkv[ko + d];
            dqkv[ko + d] += ds * qkv[qo + d];
          }
        }
      }
    }
  }
  return dqkv;
}

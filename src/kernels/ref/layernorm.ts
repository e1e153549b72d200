// Float64 reference of LayerNorm (biased variance, as BERT) and its backward.

export interface RefLayerNorm {
  y: Float64Array;
  mean: Float64Array;
  rstd: Float64Array;
}

/** y = (x − mean)·rstd·γ + β over rows of width h. */
export function refLayerNorm(x: ArrayLike<number>, gamma: ArrayLike<number>, beta: ArrayLike<number>, rows: number, h: number, eps: number): RefLayerNorm {
  const y = new Float64Array(rows * h), mean = new Float64Array(rows), rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let m = 0;
    for (let c = 0; c < h; c++) m += x[r * h + c];
    m /= h;
    let v = 0;
    for (let c = 0; c < h; c++) v += (x[r * h + c] - m) ** 2;
    v /= h;
    const s = 1 / Math.sqrt(v + eps);
    mean[r] = m;
    rstd[r] = s;
    for (let c = 0; c < h; c++) y[r * h + c] = (x[r * h + c] - m) * s * gamma[c] + beta[c];
  }
  return { y, mean, rstd };
}

export interface RefLayerNormGrads {
  dx: Float64Array;
  dgamma: Float64Array;
  dbeta: Float64Array;
}

/** Gradients of Σ dy·y with respect to x, γ, β (recomputing mean and rstd in float64). */
export function refLayerNormBackward(dy: ArrayLike<number>, x: ArrayLike<number>, gamma: ArrayLike<number>, rows: number, h: number, eps: number): RefLayerNormGrads {
  const { mean, rstd } = refLayerNorm(x, gamma, new Float64Array(h), rows, h, eps);
  const dx = new Float64Array(rows * h), dgamma = new Float64Array(h), dbeta = new Float64Array(h);
  for (let r = 0; r < rows; r++) {
    let sa = 0, sb = 0;
    for (let c = 0; c < h; c++) {
      const xh = (x[r * h + c] - mean[r]) * rstd[r];
      const g = dy[r * h + c] * gamma[c];
      sa += g;
      sb += g * xh;
      dgamma[c] += dy[r * h + c] * xh;
      dbeta[c] += dy[r * h + c];
    }
    sa /= h;
    sb /= h;
    for (let c = 0; c < h; c++) {
      const xh = (x[r * h + c] - mean[r]) * rstd[r];
      dx[r * h + c] = rstd[r] * (dy[r * h + c] * gamma[c] - sa - xh * sb);
    }
  }
  return { dx, dgamma, dbeta };
}

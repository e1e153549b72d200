// Float64 reference of global-norm clipping (shaders/clip.wgsl).
export function refClip(grads: readonly ArrayLike<number>[], maxNorm: number): { scale: number; norm: number; sumsq: number; nonfinite: boolean } {
  let ss = 0;
  let bad = false;
  for (const g of grads)
    for (let i = 0; i < g.length; i++) {
      if (!Number.isFinite(g[i])) bad = true;
      else ss += g[i] * g[i];
    }
  const norm = Math.sqrt(ss);
  const scale = bad || !(maxNorm > 0) || !Number.isFinite(maxNorm) ? 1 : Math.min(1, maxNorm / (norm + 1e-6));
  return { scale, norm, sumsq: ss, nonfinite: bad };
}

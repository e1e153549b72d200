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

/**
 * Clipping of gradients seeded multiplied by a dynamic loss scale S (clip.wgsl, DYNAMIC):
 * the true norm, AdamW's multiplier clip/S, and the scaler [S, good, skipped, run] after the
 * step (halved on an overflow, doubled after `growth` good steps, within [2⁻¹⁶, 2²⁴]).
 */
export function refClipDynamic(
  scaledGrads: readonly ArrayLike<number>[],
  maxNorm: number,
  scaler: readonly [number, number, number, number],
  growth: number,
): { scale: number; norm: number; nonfinite: boolean; scaler: [number, number, number, number] } {
  const [S, good, skipped, run] = scaler;
  const c = refClip(scaledGrads, Infinity);
  const norm = c.norm / S;
  const clip = c.nonfinite || !(maxNorm > 0) || !Number.isFinite(maxNorm) ? 1 : Math.min(1, maxNorm / (norm + 1e-6));
  let next: [number, number, number, number];
  if (c.nonfinite) next = [Math.max(S / 2, 2 ** -16), 0, skipped + 1, run + 1];
  else next = good + 1 >= growth ? [Math.min(S * 2, 2 ** 24), 0, skipped, 0] : [S, good + 1, skipped, 0];
  return { scale: clip / S, norm, nonfinite: c.nonfinite, scaler: next };
}

// Float64 reference of weighted binary cross-entropy with logits (shaders/bce.wgsl).
export function refBce(z: ArrayLike<number>, y: ArrayLike<number>, w: ArrayLike<number>, lambda: number) {
  let ls = 0, ws = 0, correct = 0, count = 0;
  for (let i = 0; i < z.length; i++) {
    if (w[i] === 0) continue;
    ls += w[i] * (Math.max(z[i], 0) - z[i] * y[i] + Math.log1p(Math.exp(-Math.abs(z[i]))));
    ws += w[i];
    if (z[i] > 0 === y[i] > 0.5) correct++;
    count++;
  }
  const scale = ws === 0 ? 0 : lambda / ws;
  const dz = new Float64Array(z.length);
  for (let i = 0; i < z.length; i++) if (w[i] !== 0) dz[i] = scale * w[i] * (1 / (1 + Math.exp(-z[i])) - y[i]);
  return { loss: ls * scale, lossSum: ls, weightSum: ws, correct, count, scale, dz };
}

// Float64 reference of the sparse vocabulary cross-entropy (shaders/xent.wgsl).
export interface RefXentArgs {
  hidden: ArrayLike<number>; // [S, h]
  weight: ArrayLike<number>; // [V, h]
  bias: ArrayLike<number>; // [V]
  labels: ArrayLike<number>; // [S]; outside [0, V) → ignored (bad)
  count: number; // rows ≥ count are ignored
  S: number;
  h: number;
  V: number;
  lossWeight: number;
}

export function refXent(a: RefXentArgs) {
  const { S, h, V } = a;
  const lse = new Float64Array(S), loss = new Float64Array(S), argmax = new Float64Array(S).fill(-1), valid = new Uint8Array(S);
  const probs: Float64Array[] = [];
  let lossSum = 0, nValid = 0, correct = 0, bad = 0;
  for (let i = 0; i < S; i++) {
    const label = a.labels[i];
    const inRange = Number.isInteger(label) && label >= 0 && label < V;
    if (i < a.count && !inRange) bad++;
    if (i >= a.count || !inRange) { probs.push(new Float64Array(0)); continue; }
    const z = new Float64Array(V);
    let m = -Infinity, best = 0;
    for (let v = 0; v < V; v++) {
      let s = a.bias[v];
      for (let k = 0; k < h; k++) s += a.hidden[i * h + k] * a.weight[v * h + k];
      z[v] = s;
      if (s > m) { m = s; best = v; }
    }
    let se = 0;
    for (let v = 0; v < V; v++) se += Math.exp(z[v] - m);
    lse[i] = m + Math.log(se);
    loss[i] = lse[i] - z[label];
    argmax[i] = best;
    valid[i] = 1;
    probs.push(z.map((x) => Math.exp(x - lse[i])));
    lossSum += loss[i];
    nValid++;
    if (best === label) correct++;
  }
  const scale = a.lossWeight / Math.max(nValid, 1);
  const dHidden = new Float64Array(S * h), dWeight = new Float64Array(V * h), dBias = new Float64Array(V);
  for (let i = 0; i < S; i++) {
    if (!valid[i]) continue;
    for (let v = 0; v < V; v++) {
      const g = scale * (probs[i][v] - (v === a.labels[i] ? 1 : 0));
      dBias[v] += g;
      for (let k = 0; k < h; k++) {
        dHidden[i * h + k] += g * a.weight[v * h + k];
        dWeight[v * h + k] += g * a.hidden[i * h + k];
      }
    }
  }
  return { lse, loss, argmax, valid, total: lossSum * scale, lossSum, nValid, correct, bad, scale, dHidden, dWeight, dBias };
}

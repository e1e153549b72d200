// Float64 reference of one AdamW step (shaders/adamw.wgsl), in place on float64 arrays.
export interface RefAdamWState {
  param: Float64Array;
  m: Float64Array;
  v: Float64Array;
}

export function refAdamWStep(
  s: RefAdamWState,
  grad: ArrayLike<number>,
  o: { step: number; lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; decay: boolean; clipScale: number },
): void {
  const bc1 = 1 - o.beta1 ** o.step, bc2 = 1 - o.beta2 ** o.step;
  const shrink = o.decay ? 1 - o.lr * o.weightDecay : 1;
  for (let i = 0; i < s.param.length; i++) {
    const g = grad[i] * o.clipScale;
    s.m[i] = o.beta1 * s.m[i] + (1 - o.beta1) * g;
    s.v[i] = o.beta2 * s.v[i] + (1 - o.beta2) * g * g;
    s.param[i] = s.param[i] * shrink - (o.lr * (s.m[i] / bc1)) / (Math.sqrt(s.v[i] / bc2) + o.eps);
  }
}

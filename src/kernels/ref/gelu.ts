// Float64 references of the GELU kernels (src/kernels/gelu.ts).
import { geluErf, geluErfGrad, geluTanh, geluTanhGrad } from './activations.js';

export function refGelu(x: ArrayLike<number>, form: 'erf' | 'tanh' = 'erf'): Float64Array {
  const f = form === 'erf' ? geluErf : geluTanh;
  return Float64Array.from({ length: x.length }, (_, i) => f(x[i]));
}

export function refGeluBackward(x: ArrayLike<number>, dy: ArrayLike<number>, form: 'erf' | 'tanh' = 'erf'): Float64Array {
  const g = form === 'erf' ? geluErfGrad : geluTanhGrad;
  return Float64Array.from({ length: x.length }, (_, i) => dy[i] * g(x[i]));
}

// Goodness-of-fit helpers for tests of samplers and shuffles: Pearson's chi-square statistic
// and the chi-square distribution's upper tail, to turn a statistic into a p-value.
import { expect } from 'vitest';

/** Chi-square statistic of observed counts against expected probabilities (cells with p > 0). */
export function chiSquare(obs: ArrayLike<number>, probs: ArrayLike<number>, n: number): { chi2: number; df: number } {
  let chi2 = 0, df = -1;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] === 0) {
      expect(obs[i], `category ${i} has probability 0`).toBe(0);
      continue;
    }
    const e = n * probs[i];
    chi2 += (obs[i] - e) ** 2 / e;
    df++;
  }
  return { chi2, df };
}

// chi-square within df + 4·√(2·df): about 4σ of the statistic, so a correct sampler fails ~never.
export const chiBound = (df: number) => df + 4 * Math.sqrt(2 * df);

const LANCZOS = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];

/** ln Γ(x), x > 0 (Lanczos, g = 7: about 15 digits). */
function lnGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = LANCZOS[0];
  for (let i = 1; i < 9; i++) a += LANCZOS[i] / (x + i);
  const t = x + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Q(a, x) = Γ(a, x) / Γ(a), the regularised upper incomplete gamma function (a > 0, x ≥ 0). */
function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const front = Math.exp(a * Math.log(x) - x - lnGamma(a));
  if (x < a + 1) {
    // Series for P = 1 - Q, which converges fast below the mode.
    let term = 1 / a, sum = term;
    for (let k = 1; k < 10_000 && Math.abs(term) > Math.abs(sum) * 1e-16; k++) sum += term *= x / (a + k);
    return 1 - front * sum;
  }
  // Continued fraction for Q (modified Lentz), which converges fast above the mode.
  const tiny = 1e-300;
  let b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
  for (let k = 1; k < 10_000; k++) {
    const an = -k * (k - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < 1e-16) break;
  }
  return front * h;
}

/** P(X ≥ x) for X ~ χ²(df): the p-value of a chi-square statistic x. */
export const chiSquareSurvival = (x: number, df: number): number => gammaQ(df / 2, x / 2);

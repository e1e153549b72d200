// The float64 activation references: erf against known values, gradients against
// finite differences.
import { describe, expect, it } from 'vitest';
import { erf, geluErf, geluErfGrad, geluTanh, geluTanhGrad } from '../../src/kernels/ref/activations.js';

describe('activation references', () => {
  it('erf matches tabulated values', () => {
    expect(erf(0)).toBe(0);
    expect(erf(0.5)).toBeCloseTo(0.5204998778130465, 14);
    expect(erf(1)).toBeCloseTo(0.8427007929497149, 14);
    expect(erf(-2)).toBeCloseTo(-0.9953222650189527, 14);
    expect(erf(3.5)).toBeCloseTo(0.9999992569016276, 14);
  });

  it('GELU gradients match central differences', () => {
    for (const x of [-4, -1.3, -0.2, 0, 0.7, 2.5]) {
      const h = 1e-6;
      expect(geluErfGrad(x)).toBeCloseTo((geluErf(x + h) - geluErf(x - h)) / (2 * h), 6); // FD of 1+erf near -1 cancels: ~1e-7
      expect(geluTanhGrad(x)).toBeCloseTo((geluTanh(x + h) - geluTanh(x - h)) / (2 * h), 6); // FD of 1+erf near -1 cancels: ~1e-7
    }
  });
});

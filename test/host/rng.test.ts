// The host Philox against Random123's published known-answer vectors.
import { describe, expect, it } from 'vitest';
import { philox4x32_10 } from '../../src/kernels/ref/rng.js';

const hex = (v: number[]) => v.map((x) => x.toString(16).padStart(8, '0'));

describe('philox4x32-10 (host)', () => {
  it('matches Random123 known answers', () => {
    expect(hex(philox4x32_10([0, 0, 0, 0], [0, 0]))).toEqual(['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
    expect(hex(philox4x32_10([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff]))).toEqual(['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd']);
    expect(hex(philox4x32_10([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]))).toEqual(['d16cfe09', '94fdcceb', '5001e420', '24126ea1']);
  });
});

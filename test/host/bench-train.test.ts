// `bench train`'s MFU denominator: the step's largest product by FLOPs. With a real
// vocabulary the MLM-style heads' decoder at the selected rows outweighs the encoder's
// products; detection heads have none, so there the FFN's is the largest.
import { describe, expect, it } from 'vitest';
import { largestMatmul } from '../../bench/train.js';
import { makeConfig } from '../../src/model/config.js';
import { OBJECTIVES } from '../../src/objectives/registry.js';

describe('bench train: the largest product of a step', () => {
  it('the vocabulary decoder for MLM, SLM and ELECTRA at 8192 words; the FFN for RTS and C-RTS', () => {
    const tiny = makeConfig('tiny', { vocabSize: 8192 });
    const rows = 32 * 128;
    const got = Object.fromEntries(OBJECTIVES.map((o) => [o, largestMatmul(tiny, o, rows, 0.15)]));
    for (const o of ['mlm', 'slm', 'electra'] as const) expect(got[o]).toEqual({ M: 614, K: 128, N: 8192 });
    for (const o of ['rts', 'crts'] as const) expect(got[o]).toEqual({ M: rows, K: 128, N: 512 });
    // A small vocabulary: the FFN's product wins for every objective.
    const small = makeConfig('mini', { vocabSize: 1000 });
    for (const o of OBJECTIVES) expect(largestMatmul(small, o, rows, 0.15)).toEqual({ M: rows, K: 256, N: 1024 });
  });
});

// `bench train`'s MFU denominator: the step's largest product by FLOPs. With a real
// vocabulary the MLM-style heads' decoder at the selected rows outweighs the encoder's
// products; detection heads have none, so there the FFN's is the largest.
import { describe, expect, it } from 'vitest';
import { datasheetPeak, largestMatmul } from '../../bench/train.js';
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

describe('bench train: the datasheet peak of the device', () => {
  it('tells apart the variants of a board by the names Vulkan gives them; none for CPU adapters', () => {
    const peak = (d: string) => datasheetPeak(d)?.tflops;
    expect(peak('NVIDIA H100 80GB HBM3')).toBe(67); // SXM
    expect(peak('NVIDIA H100 PCIe')).toBe(51);
    expect(peak('NVIDIA H100 NVL')).toBe(60);
    expect(peak('NVIDIA H200')).toBe(67);
    expect(peak('NVIDIA H200 NVL')).toBe(60);
    expect(peak('NVIDIA A100-SXM4-80GB')).toBe(19.5);
    expect(peak('NVIDIA L4')).toBe(30.3);
    expect(peak('Tesla T4')).toBe(8.1);
    expect(peak('NVIDIA L40S')).toBeUndefined();
    expect(peak('llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)')).toBeUndefined();
    expect(peak('SwiftShader Device (Subzero)')).toBeUndefined();
  });
});

// BERT's embedding sum (shaders/embedding.wgsl): out[n] = word[ids[n]] + type[types[n]] +
// position[n mod T], and its deterministic backward.
//
// Kept separate from the LayerNorm that follows (layernorm.ts runs on `out`): LayerNorm's
// backward needs the sum anyway, so fusing would save one write+read of [N, h] (a few MB per
// step, small next to the matmuls) at the price of a second LayerNorm implementation.
//
// The output (and dOut) may be f16 where the adapter has shader-f16; tables and their
// gradients are f32, and so is all arithmetic.
//
// Ids out of range are clamped in the kernel to the last row (V − 1; types to NT − 1), the
// same in forward and backward; the host checks shapes only (it cannot see GPU data).
//
// Backward, deterministic without float atomics: the word-table gradient sorts the tokens by
// (id, position) on the GPU (unique u32 keys id << shift | n, bitonic sort), then one workgroup
// per vocabulary row finds its run by binary search and sums those dOut rows in token order:
// every row's sum has a fixed order, so two runs give bit-identical gradients. The position
// gradient sums over the batch in order; the type gradient scans the tokens in order.
import type { Runtime, Op } from '../gpu/runtime.js';
import { isCpuAdapter } from '../gpu/adapter.js';
import { packUniform } from '../gpu/runtime.js';
import { expectDType, shapeStr, type Tensor } from '../gpu/tensor.js';
import type { KernelSignature, ShaderSpec } from '../gpu/pipelines.js';
import { grid1d, vec4Defines, VEC4_PATHS } from './grid.js';
import { registerVariants, type KernelVariant } from './registry.js';

const WG = 64;
const SORT_WG = 256;
const L = 2 * SORT_WG;

/** Invocations per token / vocabulary row: 1 on CPU adapters (measured faster), WG on GPUs. */
/** 'per-invocation': one invocation per token / vocabulary row; 'plain': a workgroup each. */
export type EmbeddingVariant = 'auto' | 'per-invocation' | 'plain';
const tprFor = (rt: Runtime, v: EmbeddingVariant = 'auto') => (v === 'per-invocation' ? 1 : v === 'plain' ? WG : isCpuAdapter(rt.gpu.kind) ? 1 : WG);

const FWD: KernelSignature = { name: 'embedding', bindings: ['read', 'read', 'read', 'read', 'read', 'rw', 'uniform'] };
const KEYS: KernelSignature = { name: 'embedding.sort_keys', bindings: ['read', 'rw', 'uniform'] };
const SORT: KernelSignature = { name: 'embedding.sort', bindings: ['rw', 'uniform'] };
const GRAD_WORD: KernelSignature = { name: 'embedding.grad_word', bindings: ['read', 'read', 'rw', 'uniform'] };
const GRAD_SMALL: KernelSignature = { name: 'embedding.grad_small', bindings: ['read', 'read', 'rw', 'uniform'] };
const file = 'embedding.wgsl';
/** A column kernel's spec for width h: four columns per access where h is a multiple of 4 (VEC4). */
const colSpec = (define: string, consts: Record<string, number | boolean>, f16: boolean | undefined, h: number): ShaderSpec => ({ file, consts: { WG, ...consts }, defines: [define, ...(vec4Defines(h) ?? [])], f16: f16 || undefined });
registerVariants(
  ...VEC4_PATHS.flatMap((h) => [
    ...[1, WG].flatMap((TPR): KernelVariant[] =>
      [false, true].flatMap((f16): KernelVariant[] => [
        { sig: FWD, spec: colSpec('FWD', { TPR }, f16, h) },
        { sig: GRAD_WORD, spec: colSpec('GRAD_WORD', { TPR, ACCUMULATE: false }, f16, h) },
        { sig: GRAD_WORD, spec: colSpec('GRAD_WORD', { TPR, ACCUMULATE: true }, f16, h) },
      ]),
    ),
    ...[false, true].flatMap((ACCUMULATE): KernelVariant[] =>
      [false, true].flatMap((f16): KernelVariant[] => [
        { sig: GRAD_SMALL, spec: colSpec('GRAD_SMALL', { ACCUMULATE, POS: true }, f16, h) },
        { sig: GRAD_SMALL, spec: colSpec('GRAD_SMALL', { ACCUMULATE, POS: false }, f16, h) },
      ]),
    ),
  ]),
  { sig: KEYS, spec: { file, consts: { WG }, defines: ['KEYS'] } },
  { sig: SORT, spec: { file, consts: { WG: SORT_WG }, defines: ['SORT'], entry: 'sort_local' } },
  { sig: SORT, spec: { file, consts: { WG: SORT_WG }, defines: ['SORT'], entry: 'sort_global' } },
);

export interface EmbeddingTables {
  /** [V, h] */
  word: Tensor;
  /** [P, h], P ≥ T */
  position: Tensor;
  /** [NT, h] */
  type: Tensor;
}

function table(name: string, what: string, t: Tensor, h: number | null): [number, number] {
  expectDType(name, what, t, 'f32');
  if (t.shape.length !== 2 || t.shape[0] === 0 || t.shape[1] === 0) throw new Error(`${name}: ${what} must be a non-empty [rows, h] table, got ${shapeStr(t.shape)}`);
  if (h !== null && t.shape[1] !== h) throw new Error(`${name}: ${what} ${shapeStr(t.shape)} must have width h = ${h}`);
  return [t.shape[0], t.shape[1]];
}

/** Token count N and sequence length T from ids [B, T]. */
function tokens(name: string, ids: Tensor, types: Tensor): [number, number] {
  expectDType(name, 'ids', ids, 'u32', 'i32');
  expectDType(name, 'types', types, 'u32', 'i32');
  if (ids.shape.length !== 2 || ids.size === 0) throw new Error(`${name}: ids must be a non-empty [batch, seq] tensor, got ${shapeStr(ids.shape)}`);
  if (types.size !== ids.size) throw new Error(`${name}: types ${shapeStr(types.shape)} must have the shape of ids ${shapeStr(ids.shape)}`);
  return [ids.size, ids.shape[1]];
}

function checkTables(name: string, t: EmbeddingTables, T: number): { V: number; h: number; P: number; NT: number } {
  const [V, h] = table(name, 'word', t.word, null);
  const [P] = table(name, 'position', t.position, h);
  const [NT] = table(name, 'type', t.type, h);
  if (P < T) throw new Error(`${name}: the position table ${shapeStr(t.position.shape)} has fewer rows than the sequence length ${T}`);
  return { V, h, P, NT };
}

/** out [B, T, h] (or [N, h]) = word[ids] + type[types] + position[t]. ids, types: [B, T] u32/i32. */
export function embedding(rt: Runtime, ids: Tensor, types: Tensor, tables: EmbeddingTables, out: Tensor, opts: { variant?: EmbeddingVariant } = {}): Promise<Op> {
  const name = 'embedding';
  const [N, T] = tokens(name, ids, types);
  const { V, h, NT } = checkTables(name, tables, T);
  expectDType(name, 'out', out, 'f32', 'f16');
  if (out.size !== N * h) throw new Error(`${name}: out ${shapeStr(out.shape)} must hold ${N} tokens × h = ${h} (ids ${shapeStr(ids.shape)})`);
  const TPR = tprFor(rt, opts.variant);
  const [gx, gy] = grid1d(N, WG / TPR, rt.limits.maxComputeWorkgroupsPerDimension);
  const params = rt.uniform(packUniform([['u32', N], ['u32', T], ['u32', h], ['u32', V], ['u32', NT], ['u32', gx], ['u32', 0], ['u32', 0]]), `${name}.params`);
  return rt.op(FWD, colSpec('FWD', { TPR }, out.dtype === 'f16', h), [ids, types, tables.word, tables.position, tables.type, out, params], [gx, gy], name);
}

export interface EmbeddingBackwardArgs {
  ids: Tensor;
  types: Tensor;
  /** Gradient of the embedding sum, [B, T, h] or [N, h]. */
  dOut: Tensor;
  /** Gradient tables, shaped like the tables: word [V, h], position [P, h], type [NT, h]. */
  grads: EmbeddingTables;
  /** Add to the gradients instead of overwriting them (gradient accumulation). */
  accumulate?: boolean;
  variant?: EmbeddingVariant;
}

/** Ops to record in order: sort keys, bitonic sort steps, word, position and type gradients. */
export async function embeddingBackward(rt: Runtime, a: EmbeddingBackwardArgs): Promise<Op[]> {
  const name = 'embedding.backward';
  const [N, T] = tokens(name, a.ids, a.types);
  const { V, h, P, NT } = checkTables(name, a.grads, T);
  expectDType(name, 'dOut', a.dOut, 'f32', 'f16');
  const f16 = a.dOut.dtype === 'f16' || undefined;
  if (a.dOut.size !== N * h) throw new Error(`${name}: dOut ${shapeStr(a.dOut.shape)} must hold ${N} tokens × h = ${h} (ids ${shapeStr(a.ids.shape)})`);
  const shift = Math.ceil(Math.log2(N));
  if (V * 2 ** shift >= 2 ** 32) throw new Error(`${name}: vocabulary ${V} × 2^${shift} (for ${N} tokens) does not fit the 32-bit sort keys; split the batch`);
  const Npad = Math.max(L, 2 ** Math.ceil(Math.log2(N)));
  const maxWg = rt.limits.maxComputeWorkgroupsPerDimension;
  const keys = rt.empty([Npad], 'u32', `${name}.keys`);
  const acc = Boolean(a.accumulate);
  const ops: Op[] = [];

  let [gx, gy] = grid1d(Npad, WG, maxWg);
  let params = rt.uniform(packUniform([['u32', N], ['u32', Npad], ['u32', V], ['u32', shift], ['u32', gx], ['u32', 0], ['u32', 0], ['u32', 0]]), `${name}.keys.params`);
  ops.push(await rt.op(KEYS, { file, consts: { WG }, defines: ['KEYS'] }, [a.ids, keys, params], [gx, gy], `${name}.keys`));

  const sortSpec = (entry: string) => ({ file, consts: { WG: SORT_WG }, defines: ['SORT'], entry });
  const local = async (kLo: number, kHi: number) => {
    const [sx, sy] = grid1d(Npad / L, 1, maxWg);
    const u = rt.uniform(packUniform([['u32', Npad], ['u32', kLo], ['u32', kHi], ['u32', 0], ['u32', sx], ['u32', 0], ['u32', 0], ['u32', 0]]), `${name}.sort.params`);
    return rt.op(SORT, sortSpec('sort_local'), [keys, u], [sx, sy], `${name}.sort_local`);
  };
  ops.push(await local(2, L));
  for (let k = 2 * L; k <= Npad; k *= 2) {
    for (let j = k / 2; j >= L; j /= 2) {
      const [sx, sy] = grid1d(Npad / 2, SORT_WG, maxWg);
      const u = rt.uniform(packUniform([['u32', Npad], ['u32', k], ['u32', k], ['u32', j], ['u32', sx], ['u32', 0], ['u32', 0], ['u32', 0]]), `${name}.sort.params`);
      ops.push(await rt.op(SORT, sortSpec('sort_global'), [keys, u], [sx, sy], `${name}.sort_global`));
    }
    ops.push(await local(k, k));
  }

  const TPR = tprFor(rt, a.variant);
  [gx, gy] = grid1d(V, WG / TPR, maxWg);
  params = rt.uniform(packUniform([['u32', N], ['u32', V], ['u32', h], ['u32', shift], ['u32', gx], ['u32', 0], ['u32', 0], ['u32', 0]]), `${name}.word.params`);
  ops.push(await rt.op(GRAD_WORD, colSpec('GRAD_WORD', { TPR, ACCUMULATE: acc }, f16, h), [keys, a.dOut, a.grads.word, params], [gx, gy], `${name}.word`));

  for (const [what, rows, pos, t] of [['position', P, true, a.grads.position], ['type', NT, false, a.grads.type]] as const) {
    [gx, gy] = grid1d(rows * (vec4Defines(h) ? h / 4 : h), WG, maxWg);
    params = rt.uniform(packUniform([['u32', N], ['u32', T], ['u32', h], ['u32', rows], ['u32', NT], ['u32', gx], ['u32', 0], ['u32', 0]]), `${name}.${what}.params`);
    ops.push(await rt.op(GRAD_SMALL, colSpec('GRAD_SMALL', { ACCUMULATE: acc, POS: pos }, f16, h), [a.types, a.dOut, t, params], [gx, gy], `${name}.${what}`));
  }
  return ops;
}

// Float64 reference of the embedding sum and its backward (src/kernels/embedding.ts),
// with the kernel's clamping of out-of-range ids.

export interface RefEmbeddingShape {
  N: number;
  T: number;
  h: number;
  V: number;
  P: number;
  NT: number;
}

const clampId = (id: number, n: number) => Math.min(id >>> 0, n - 1);

export function refEmbedding(ids: ArrayLike<number>, types: ArrayLike<number>, word: ArrayLike<number>, pos: ArrayLike<number>, type: ArrayLike<number>, s: RefEmbeddingShape): Float64Array {
  const out = new Float64Array(s.N * s.h);
  for (let n = 0; n < s.N; n++) {
    const id = clampId(ids[n], s.V), tt = clampId(types[n], s.NT), t = n % s.T;
    for (let c = 0; c < s.h; c++) out[n * s.h + c] = word[id * s.h + c] + type[tt * s.h + c] + pos[t * s.h + c];
  }
  return out;
}

export function refEmbeddingBackward(ids: ArrayLike<number>, types: ArrayLike<number>, dOut: ArrayLike<number>, s: RefEmbeddingShape): { word: Float64Array; position: Float64Array; type: Float64Array } {
  const word = new Float64Array(s.V * s.h), position = new Float64Array(s.P * s.h), type = new Float64Array(s.NT * s.h);
  for (let n = 0; n < s.N; n++) {
    const id = clampId(ids[n], s.V), tt = clampId(types[n], s.NT), t = n % s.T;
    for (let c = 0; c < s.h; c++) {
      const g = dOut[n * s.h + c];
      word[id * s.h + c] += g;
      type[tt * s.h + c] += g;
      position[t * s.h + c] += g;
    }
  }
  return { word, position, type };
}

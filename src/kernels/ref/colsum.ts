// Float64 reference of the column sum (bias gradient): out[c] = (init[c] or 0) + Σ_r x[off + r·ld + c].
export function refColumnSum(x: ArrayLike<number>, rows: number, cols: number, ld = cols, offset = 0, init?: ArrayLike<number>): Float64Array {
  const out = new Float64Array(cols);
  for (let c = 0; c < cols; c++) {
    let s = init ? init[c] : 0;
    for (let r = 0; r < rows; r++) s += x[offset + r * ld + c];
    out[c] = s;
  }
  return out;
}

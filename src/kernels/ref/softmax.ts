// Float64 reference of the row softmax (src/kernels/softmax.ts).

export function refSoftmax(x: ArrayLike<number>, rows: number, cols: number, scale = 1): Float64Array {
  const y = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let c = 0; c < cols; c++) m = Math.max(m, scale * x[r * cols + c]);
    if (m === -Infinity) continue; // all −∞: zeros
    let s = 0;
    for (let c = 0; c < cols; c++) s += Math.exp(scale * x[r * cols + c] - m);
    for (let c = 0; c < cols; c++) y[r * cols + c] = Math.exp(scale * x[r * cols + c] - m) / s;
  }
  return y;
}

export function refSoftmaxBackward(y: ArrayLike<number>, dy: ArrayLike<number>, rows: number, cols: number, scale = 1): Float64Array {
  const dx = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let d = 0;
    for (let c = 0; c < cols; c++) d += dy[r * cols + c] * y[r * cols + c];
    for (let c = 0; c < cols; c++) dx[r * cols + c] = scale * y[r * cols + c] * (dy[r * cols + c] - d);
  }
  return dx;
}

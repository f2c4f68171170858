// Plain CPU references (f64 accumulation) that the GPU kernels are checked against.

/** One entry C[i][j] of A·B (row-major A m×k, B k×n). */
export function matmulEntry(a: Float32Array, b: Float32Array, k: number, n: number, i: number, j: number): number {
  let s = 0;
  for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
  return s;
}

/** Whole C = A·B in f64. */
export function matmulRef(a: Float32Array, b: Float32Array, m: number, n: number, k: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p];
      for (let j = 0; j < n; j++) c[i * n + j] += av * b[p * n + j];
    }
  }
  return c;
}

// Plain CPU references (f64 accumulation) that the GPU kernels are checked against.
import type { MatmulSpec } from './matmul/matmul-spec.ts';

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

/** The shape part of a matmul call (the reference takes the bias as an array, not a flag). */
export type MatmulRefSpec = Pick<
  MatmulSpec,
  'm' | 'n' | 'k' | 'batch' | 'transA' | 'transB' | 'broadcastA' | 'broadcastB' | 'activation'
>;

/** GELU, tanh approximation (what the kernels compute), in f64. */
export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}

/**
 * One entry C[batch][i][j] of act(op(A)·op(B) + bias) in f64, for the same layouts as the
 * matmul kernel (row-major, A k×m when transA, B n×k when transB, batches back to back).
 */
export function matmulEntryGeneral(
  s: MatmulRefSpec,
  a: Float32Array,
  b: Float32Array,
  bias: Float32Array | undefined,
  bt: number,
  i: number,
  j: number,
): number {
  const { m, n, k } = s;
  const oa = s.broadcastA ? 0 : bt * m * k;
  const ob = s.broadcastB ? 0 : bt * k * n;
  let acc = 0;
  for (let p = 0; p < k; p++) {
    const av = s.transA ? a[oa + p * m + i] : a[oa + i * k + p];
    const bv = s.transB ? b[ob + j * k + p] : b[ob + p * n + j];
    acc += av * bv;
  }
  if (bias) acc += bias[j];
  if (s.activation === 'relu') acc = Math.max(acc, 0);
  if (s.activation === 'gelu') acc = geluTanh(acc);
  return acc;
}

/** The whole batched C in f64 (see matmulEntryGeneral). */
export function matmulRefGeneral(
  s: MatmulRefSpec,
  a: Float32Array,
  b: Float32Array,
  bias?: Float32Array,
): Float64Array {
  const batch = s.batch ?? 1;
  const c = new Float64Array(batch * s.m * s.n);
  for (let bt = 0; bt < batch; bt++)
    for (let i = 0; i < s.m; i++)
      for (let j = 0; j < s.n; j++) c[(bt * s.m + i) * s.n + j] = matmulEntryGeneral(s, a, b, bias, bt, i, j);
  return c;
}

/**
 * How far a kernel's C entry may be from `ref` (the f64 reference): f32 rounding grows with k;
 * f16 adds a relative 1e-3 (its 11-bit mantissa) on top. The tests and the device check share it.
 */
export function matmulTolerance(spec: Pick<MatmulSpec, 'k' | 'dtype'>, ref: number): number {
  const base = 2e-6 * spec.k + 1e-6;
  return spec.dtype === 'f16' ? 1e-3 * Math.abs(ref) + base + 1e-3 : base;
}

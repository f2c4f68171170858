// What one matmul call computes, and the checks that turn bad calls into clear errors.
import type { Activation, MatmulDtype } from './matmul-program.ts';
import { ShapeError } from '../errors.ts';

/**
 * C[b] = act(op(A[b])·op(B[b]) + bias) for b < batch, every matrix row-major and densely packed:
 * A is m×k (k×m when transA), B is k×n (n×k when transB), C is m×n, bias has n entries.
 */
export interface MatmulSpec {
  m: number;
  n: number;
  k: number;
  /** Number of matrices (default 1); batches follow each other in each buffer. */
  batch?: number;
  transA?: boolean;
  transB?: boolean;
  /** A holds one matrix used for every batch (B and C hold `batch`). */
  broadcastA?: boolean;
  /** B holds one matrix used for every batch. */
  broadcastB?: boolean;
  /** Add a bias (one value per column of C, shared by every row and batch). */
  bias?: boolean;
  activation?: Activation;
  /** Element type of A, B, C and bias in memory; accumulation is f32 either way. */
  dtype?: MatmulDtype;
}

export interface ResolvedSpec {
  m: number;
  n: number;
  k: number;
  batch: number;
  transA: boolean;
  transB: boolean;
  broadcastA: boolean;
  broadcastB: boolean;
  bias: boolean;
  activation: Activation;
  dtype: MatmulDtype;
}

export function resolveSpec(s: MatmulSpec): ResolvedSpec {
  for (const name of ['m', 'n', 'k'] as const) {
    const v = s[name];
    if (!Number.isInteger(v) || v < 1) throw new ShapeError(`matmul: ${name} must be a positive integer, got ${v}`);
  }
  const batch = s.batch ?? 1;
  if (!Number.isInteger(batch) || batch < 1)
    throw new ShapeError(`matmul: batch must be a positive integer, got ${batch}`);
  if (s.broadcastA && s.broadcastB)
    throw new ShapeError('matmul: broadcast one operand at most (broadcastA and broadcastB are both set)');
  const activation = s.activation ?? 'none';
  if (!['none', 'relu', 'gelu'].includes(activation))
    throw new ShapeError(`matmul: unknown activation "${activation}" (none, relu, gelu)`);
  const dtype = s.dtype ?? 'f32';
  if (dtype !== 'f32' && dtype !== 'f16') throw new ShapeError(`matmul: unknown dtype "${dtype}" (f32, f16)`);
  return {
    m: s.m,
    n: s.n,
    k: s.k,
    batch,
    transA: !!s.transA,
    transB: !!s.transB,
    broadcastA: !!s.broadcastA,
    broadcastB: !!s.broadcastB,
    bias: !!s.bias,
    activation,
    dtype,
  };
}

export function bytesPerElement(d: MatmulDtype): number {
  return d === 'f16' ? 2 : 4;
}

/** Elements each operand holds (all batches). */
export function operandSizes(r: ResolvedSpec) {
  return {
    a: r.m * r.k * (r.broadcastA ? 1 : r.batch),
    b: r.k * r.n * (r.broadcastB ? 1 : r.batch),
    c: r.m * r.n * r.batch,
    bias: r.bias ? r.n : 0,
  };
}

export function flops(s: MatmulSpec): number {
  return 2 * s.m * s.n * s.k * (s.batch ?? 1);
}

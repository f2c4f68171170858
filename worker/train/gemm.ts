// The three products a linear layer's forward and backward need, over row-major f32 buffers:
//   nn: C[m,n] = A[m,k]·B[k,n]      (forward)
//   nt: C[m,n] = A[m,k]·B[n,k]ᵀ     (input gradient: dY·Wᵀ)
//   tn: C[m,n] = A[k,m]ᵀ·B[k,n]     (weight gradient: Xᵀ·dY)
// This is the one place the model meets the matmul kernel. The kernel's API is changing
// (the matmul branch adds transposed operands, batching and a bias epilogue, and takes
// `encode(encoder, spec, { a, b, c })`); until both sides are merged this adapter speaks
// either: with the spec API it passes transA/transB, with the first API (C = A·B only,
// `encode(encoder, shape, a, b, c)`) it materialises the transposed operand in a scratch buffer.
import { Matmul } from '../../kernels/matmul/matmul.ts';
import { Transpose } from '../../kernels/ops/transpose.ts';

type SpecEncode = (enc: GPUCommandEncoder, spec: { m: number; n: number; k: number; transA?: boolean; transB?: boolean }, buffers: { a: GPUBuffer; b: GPUBuffer; c: GPUBuffer }) => void;
type PlainEncode = (enc: GPUCommandEncoder, shape: { m: number; n: number; k: number }, a: GPUBuffer, b: GPUBuffer, c: GPUBuffer) => void;

export class Gemm {
  private readonly matmul: Matmul;
  private readonly transpose: Transpose;
  private scratch: GPUBuffer | null = null;
  /** The kernel takes transposed operands (the spec API). */
  readonly nativeTranspose: boolean;

  constructor(readonly device: GPUDevice) {
    this.matmul = new Matmul(device);
    this.transpose = new Transpose(device);
    // The first API's encode declares five parameters; the spec API's three (plus options).
    this.nativeTranspose = this.matmul.encode.length < 5;
  }

  private run(enc: GPUCommandEncoder, spec: { m: number; n: number; k: number; transA?: boolean; transB?: boolean }, a: GPUBuffer, b: GPUBuffer, c: GPUBuffer): void {
    const encode = this.matmul.encode.bind(this.matmul) as unknown;
    if (this.nativeTranspose) (encode as SpecEncode)(enc, spec, { a, b, c });
    else (encode as PlainEncode)(enc, { m: spec.m, n: spec.n, k: spec.k }, a, b, c);
  }

  private tmp(elements: number): GPUBuffer {
    if (!this.scratch || this.scratch.size < elements * 4) {
      // The old buffer is not destroyed: a pass encoded but not yet submitted may use it.
      this.scratch = this.device.createBuffer({ size: Math.max(16, elements * 4), usage: GPUBufferUsage.STORAGE, label: 'gemm transpose scratch' });
    }
    return this.scratch;
  }

  /** Grows the transpose scratch up front, so no buffer an encoded pass uses is replaced. */
  reserve(elements: number): void {
    if (!this.nativeTranspose) this.tmp(elements);
  }

  nn(enc: GPUCommandEncoder, m: number, k: number, n: number, a: GPUBuffer, b: GPUBuffer, c: GPUBuffer): void {
    this.run(enc, { m, n, k }, a, b, c);
  }

  nt(enc: GPUCommandEncoder, m: number, k: number, n: number, a: GPUBuffer, b: GPUBuffer, c: GPUBuffer): void {
    if (this.nativeTranspose) return this.run(enc, { m, n, k, transB: true }, a, b, c);
    const bt = this.tmp(n * k);
    this.transpose.encode(enc, n, k, { x: b, y: bt });
    this.run(enc, { m, n, k }, a, bt, c);
  }

  tn(enc: GPUCommandEncoder, m: number, k: number, n: number, a: GPUBuffer, b: GPUBuffer, c: GPUBuffer): void {
    if (this.nativeTranspose) return this.run(enc, { m, n, k, transA: true }, a, b, c);
    const at = this.tmp(k * m);
    this.transpose.encode(enc, k, m, { x: a, y: at });
    this.run(enc, { m, n, k }, at, b, c);
  }

  destroy(): void {
    this.scratch?.destroy();
  }
}

// The three products a linear layer's forward and backward need, over row-major f32 buffers:
//   nn: C[m,n] = A[m,k]·B[k,n]      (forward)
//   nt: C[m,n] = A[m,k]·B[n,k]ᵀ     (input gradient: dY·Wᵀ)
//   tn: C[m,n] = A[k,m]ᵀ·B[k,n]     (weight gradient: Xᵀ·dY)
// Today it runs on the skeleton's Matmul (C = A·B only) and materialises the transposed
// operand in a scratch buffer; when the matmul kernel takes transposed operands, this file
// is the one place to switch.
import { Matmul } from '../../kernels/matmul/matmul.ts';
import { Transpose } from '../../kernels/ops/transpose.ts';

export class Gemm {
  private readonly matmul: Matmul;
  private readonly transpose: Transpose;
  private scratch: GPUBuffer | null = null;

  constructor(readonly device: GPUDevice) {
    this.matmul = new Matmul(device);
    this.transpose = new Transpose(device);
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
    this.tmp(elements);
  }

  nn(enc: GPUCommandEncoder, m: number, k: number, n: number, a: GPUBuffer, b: GPUBuffer, c: GPUBuffer): void {
    this.matmul.encode(enc, { m, n, k }, a, b, c);
  }

  nt(enc: GPUCommandEncoder, m: number, k: number, n: number, a: GPUBuffer, b: GPUBuffer, c: GPUBuffer): void {
    const bt = this.tmp(n * k);
    this.transpose.encode(enc, n, k, { x: b, y: bt });
    this.matmul.encode(enc, { m, n, k }, a, bt, c);
  }

  tn(enc: GPUCommandEncoder, m: number, k: number, n: number, a: GPUBuffer, b: GPUBuffer, c: GPUBuffer): void {
    const at = this.tmp(k * m);
    this.transpose.encode(enc, k, m, { x: a, y: at });
    this.matmul.encode(enc, { m, n, k }, at, b, c);
  }

  destroy(): void {
    this.scratch?.destroy();
  }
}

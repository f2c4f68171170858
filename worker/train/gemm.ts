// The three products a linear layer's forward and backward need, over row-major f32 buffers:
//   nn: C[m,n] = A[m,k]·B[k,n]      (forward)
//   nt: C[m,n] = A[m,k]·B[n,k]ᵀ     (input gradient: dY·Wᵀ)
//   tn: C[m,n] = A[k,m]ᵀ·B[k,n]     (weight gradient: Xᵀ·dY)
// This is the one place the model meets the matmul kernel, which reads transposed operands
// in place (no scratch copies).
import { Matmul } from '../../kernels/matmul/matmul.ts';

export class Gemm {
  private readonly matmul: Matmul;

  constructor(readonly device: GPUDevice) {
    this.matmul = new Matmul(device);
  }

  nn(enc: GPUCommandEncoder, m: number, k: number, n: number, a: GPUBuffer, b: GPUBuffer, c: GPUBuffer): void {
    this.matmul.encode(enc, { m, n, k }, { a, b, c });
  }

  nt(enc: GPUCommandEncoder, m: number, k: number, n: number, a: GPUBuffer, b: GPUBuffer, c: GPUBuffer): void {
    this.matmul.encode(enc, { m, n, k, transB: true }, { a, b, c });
  }

  tn(enc: GPUCommandEncoder, m: number, k: number, n: number, a: GPUBuffer, b: GPUBuffer, c: GPUBuffer): void {
    this.matmul.encode(enc, { m, n, k, transA: true }, { a, b, c });
  }
}

// LayerNorm over the last dimension, forward (saving each row's mean and 1/std for the
// backward) and backward (dx per row; dgamma, dbeta as column sums over rows).
// One invocation per row (forward, dx) or per column (dgamma, dbeta): no barriers, which
// lavapipe runs fastest at the small widths we train, and a fixed summation order, so the
// results are bit-for-bit repeatable. Mean and variance use two passes for accuracy.
import { OpKernel, WG, positiveInt, withArrays } from './op-kernel.ts';

const HEADER = /* wgsl */ `
struct Dims { rows: u32, dim: u32, eps: f32, _a: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;`;

export function layerNormForwardWgsl(): string {
  return /* wgsl */ `${HEADER}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> mean: array<f32>;
@group(0) @binding(6) var<storage, read_write> rstd: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x;
  if (r >= dims.rows) { return; }
  let base = r * dims.dim;
  var s = 0.0;
  for (var d = 0u; d < dims.dim; d++) { s += x[base + d]; }
  let mu = s / f32(dims.dim);
  var v = 0.0;
  for (var d = 0u; d < dims.dim; d++) { let c = x[base + d] - mu; v += c * c; }
  let rs = inverseSqrt(v / f32(dims.dim) + dims.eps);
  mean[r] = mu;
  rstd[r] = rs;
  for (var d = 0u; d < dims.dim; d++) { y[base + d] = (x[base + d] - mu) * rs * gamma[d] + beta[d]; }
}`;
}

/** dx = rstd · (g − mean(g) − x̂ · mean(g · x̂)), g = dy · gamma, x̂ = (x − mean) · rstd. */
export function layerNormBackwardDxWgsl(): string {
  return /* wgsl */ `${HEADER}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> rstd: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x;
  if (r >= dims.rows) { return; }
  let base = r * dims.dim;
  let mu = mean[r];
  let rs = rstd[r];
  var sg = 0.0;
  var sgx = 0.0;
  for (var d = 0u; d < dims.dim; d++) {
    let g = dy[base + d] * gamma[d];
    sg += g;
    sgx += g * (x[base + d] - mu) * rs;
  }
  let mg = sg / f32(dims.dim);
  let mgx = sgx / f32(dims.dim);
  for (var d = 0u; d < dims.dim; d++) {
    let xh = (x[base + d] - mu) * rs;
    dx[base + d] = rs * (dy[base + d] * gamma[d] - mg - xh * mgx);
  }
}`;
}

/** dgamma[d] = Σ_rows dy · x̂, dbeta[d] = Σ_rows dy. */
export function layerNormBackwardParamsWgsl(): string {
  return /* wgsl */ `${HEADER}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> rstd: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(6) var<storage, read_write> dbeta: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let d = gid.x;
  if (d >= dims.dim) { return; }
  var sg = 0.0;
  var sb = 0.0;
  for (var r = 0u; r < dims.rows; r++) {
    let i = r * dims.dim + d;
    sg += dy[i] * (x[i] - mean[r]) * rstd[r];
    sb += dy[i];
  }
  dgamma[d] = sg;
  dbeta[d] = sb;
}`;
}

export interface LayerNormShape {
  rows: number;
  dim: number;
  /** Added to the variance; default 1e-5. */
  eps?: number;
}

export interface LayerNormForwardBuffers {
  x: GPUBuffer;
  gamma: GPUBuffer;
  beta: GPUBuffer;
  y: GPUBuffer;
  /** rows values each, read by the backward. */
  mean: GPUBuffer;
  rstd: GPUBuffer;
}

export interface LayerNormBackwardBuffers {
  x: GPUBuffer;
  gamma: GPUBuffer;
  mean: GPUBuffer;
  rstd: GPUBuffer;
  dy: GPUBuffer;
  dx: GPUBuffer;
  dgamma: GPUBuffer;
  dbeta: GPUBuffer;
}

export class LayerNorm {
  private readonly k: OpKernel;

  constructor(readonly device: GPUDevice) {
    this.k = new OpKernel(device, 'layer norm');
  }

  private uniform(s: LayerNormShape): GPUBuffer {
    positiveInt('layer norm', 'rows', s.rows);
    positiveInt('layer norm', 'dim', s.dim);
    const eps = s.eps ?? 1e-5;
    if (!(eps > 0)) throw new Error(`layer norm: eps must be positive, got ${eps}`);
    return this.k.uniform([{ u32: s.rows }, { u32: s.dim }, { f32: eps }]);
  }

  forward(encoder: GPUCommandEncoder, s: LayerNormShape, b: LayerNormForwardBuffers): void {
    const u = this.uniform(s);
    const n = s.rows * s.dim;
    for (const [name, buf, len] of [
      ['x', b.x, n],
      ['gamma', b.gamma, s.dim],
      ['beta', b.beta, s.dim],
      ['y', b.y, n],
      ['mean', b.mean, s.rows],
      ['rstd', b.rstd, s.rows],
    ] as const)
      this.k.need(name, buf, len);
    const p = this.k.pipeline('forward', layerNormForwardWgsl);
    this.k.dispatch(encoder, p, [u, b.x, b.gamma, b.beta, b.y, b.mean, b.rstd], s.rows);
  }

  backward(encoder: GPUCommandEncoder, s: LayerNormShape, b: LayerNormBackwardBuffers): void {
    const u = this.uniform(s);
    const n = s.rows * s.dim;
    for (const [name, buf, len] of [
      ['x', b.x, n],
      ['gamma', b.gamma, s.dim],
      ['mean', b.mean, s.rows],
      ['rstd', b.rstd, s.rows],
      ['dy', b.dy, n],
      ['dx', b.dx, n],
      ['dgamma', b.dgamma, s.dim],
      ['dbeta', b.dbeta, s.dim],
    ] as const)
      this.k.need(name, buf, len);
    this.k.dispatch(
      encoder,
      this.k.pipeline('dx', layerNormBackwardDxWgsl),
      [u, b.x, b.gamma, b.mean, b.rstd, b.dy, b.dx],
      s.rows,
    );
    this.k.dispatch(
      encoder,
      this.k.pipeline('params', layerNormBackwardParamsWgsl),
      [u, b.x, b.mean, b.rstd, b.dy, b.dgamma, b.dbeta],
      s.dim,
    );
  }

  async runForward(s: LayerNormShape, x: Float32Array, gamma: Float32Array, beta: Float32Array) {
    return withArrays(this.device, async (run) => {
      const [y, mean, rstd] = [run.output(s.rows * s.dim), run.output(s.rows), run.output(s.rows)];
      this.forward(run.encoder, s, {
        x: run.upload(x),
        gamma: run.upload(gamma),
        beta: run.upload(beta),
        y,
        mean,
        rstd,
      });
      const out = await run.finish([
        { buffer: y, elements: s.rows * s.dim },
        { buffer: mean, elements: s.rows },
        { buffer: rstd, elements: s.rows },
      ]);
      return { y: out[0], mean: out[1], rstd: out[2] };
    });
  }

  /** Runs the forward (for mean and rstd) and the backward on the device. */
  async runBackward(s: LayerNormShape, x: Float32Array, gamma: Float32Array, beta: Float32Array, dy: Float32Array) {
    return withArrays(this.device, async (run) => {
      const n = s.rows * s.dim;
      const [gx, gg] = [run.upload(x), run.upload(gamma)];
      const [y, mean, rstd, dx, dgamma, dbeta] = [n, s.rows, s.rows, n, s.dim, s.dim].map((e) => run.output(e));
      this.forward(run.encoder, s, { x: gx, gamma: gg, beta: run.upload(beta), y, mean, rstd });
      this.backward(run.encoder, s, { x: gx, gamma: gg, mean, rstd, dy: run.upload(dy), dx, dgamma, dbeta });
      const out = await run.finish([
        { buffer: dx, elements: n },
        { buffer: dgamma, elements: s.dim },
        { buffer: dbeta, elements: s.dim },
      ]);
      return { dx: out[0], dgamma: out[1], dbeta: out[2] };
    });
  }
}

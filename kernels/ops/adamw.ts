// AdamW update, in place on the device: decoupled weight decay, bias-corrected moments
// (PyTorch's torch.optim.AdamW). The gradient is multiplied by the clip scale that
// GradNorm left on the device, so clipping needs no read-back.
// The per-step values (learning rate, step) live in one uniform buffer per AdamW instance,
// written by setStep() before the step's command buffer is submitted; the bias corrections
// 1 − βᵗ and 1 − β are computed in f64 on the host (in f32, 1 − 0.999 keeps only 4 digits).
import { DEFAULT_ADAMW, type AdamWSettings } from './limits.ts';
import { CLIP_SCALE_INDEX, GRAD_NORM_RESULT_VALUES } from './grad-norm.ts';
import { ELEMENTWISE_MAIN, OpKernel, positiveInt, withArrays } from './op-kernel.ts';

export function adamwWgsl(): string {
  return /* wgsl */ `
// omb1, omb2 = 1 − β1, 1 − β2 and bc1, bc2 = 1 − βᵗ, all rounded from f64 (see above).
struct Hyper { lr: f32, beta1: f32, beta2: f32, eps: f32, weightDecay: f32, bc1: f32, bc2: f32, omb1: f32, omb2: f32, step: u32 }
struct Dims { n: u32, decay: u32, _a: u32, _b: u32 }
@group(0) @binding(0) var<uniform> hyper: Hyper;
@group(0) @binding(1) var<uniform> dims: Dims;
@group(0) @binding(2) var<storage, read_write> param: array<f32>;
@group(0) @binding(3) var<storage, read> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;
@group(0) @binding(5) var<storage, read_write> v: array<f32>;
@group(0) @binding(6) var<storage, read> clip: array<f32>;

fn apply(i: u32) {
  if (i >= dims.n) { return; }
  let g = grad[i] * clip[${CLIP_SCALE_INDEX}];
  let mi = hyper.beta1 * m[i] + hyper.omb1 * g;
  let vi = hyper.beta2 * v[i] + hyper.omb2 * g * g;
  var p = param[i];
  if (dims.decay != 0u) { p *= 1.0 - hyper.lr * hyper.weightDecay; }
  p -= hyper.lr * (mi / hyper.bc1) / (sqrt(vi / hyper.bc2) + hyper.eps);
  param[i] = p;
  m[i] = mi;
  v[i] = vi;
}
${ELEMENTWISE_MAIN}`;
}

export interface AdamWBuffers {
  param: GPUBuffer;
  grad: GPUBuffer;
  /** First and second moments, zero before step 1. */
  m: GPUBuffer;
  v: GPUBuffer;
  /** A GradNorm result buffer (its clip scale multiplies the gradient); omit for no clipping. */
  clip?: GPUBuffer;
}

export class AdamW {
  private readonly k: OpKernel;
  private readonly hyper: GPUBuffer;
  private readonly noClip: GPUBuffer;
  private step = 0;

  constructor(
    readonly device: GPUDevice,
    readonly settings: AdamWSettings = DEFAULT_ADAMW,
  ) {
    const { beta1, beta2, eps, weightDecay } = settings;
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
      throw new Error(`adamw: betas must be in [0, 1), got ${beta1}, ${beta2}`);
    if (!(eps > 0) || !(weightDecay >= 0))
      throw new Error(`adamw: eps must be positive and weightDecay non-negative, got ${eps}, ${weightDecay}`);
    this.k = new OpKernel(device, 'adamw');
    this.hyper = device.createBuffer({
      size: 48,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      label: 'adamw step',
    });
    this.noClip = device.createBuffer({
      size: GRAD_NORM_RESULT_VALUES * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
      label: 'adamw no clip',
    });
    device.queue.writeBuffer(this.noClip, 0, new Float32Array([0, 0, 1, 0]));
  }

  /**
   * Sets the learning rate and 1-based step for the updates in the next submitted command
   * buffer. Call once per step, before submitting: every update encoded for that submit sees
   * these values (they are uniforms written on the queue, not recorded in the encoder).
   */
  setStep(step: number, lr: number): void {
    if (!Number.isInteger(step) || step < 1)
      throw new Error(`adamw: step must be a positive integer (1-based), got ${step}`);
    if (!(lr >= 0) || !Number.isFinite(lr))
      throw new Error(`adamw: learning rate must be finite and non-negative, got ${lr}`);
    const { beta1, beta2, eps, weightDecay } = this.settings;
    const data = new ArrayBuffer(48);
    new Float32Array(data, 0, 9).set([
      lr,
      beta1,
      beta2,
      eps,
      weightDecay,
      1 - beta1 ** step,
      1 - beta2 ** step,
      1 - beta1,
      1 - beta2,
    ]);
    new Uint32Array(data, 36, 1)[0] = step;
    this.device.queue.writeBuffer(this.hyper, 0, data);
    this.step = step;
  }

  /** Updates n values of `param` in place (and its moments); `decay` applies weight decay. */
  update(encoder: GPUCommandEncoder, n: number, b: AdamWBuffers, decay = true): void {
    if (this.step === 0) throw new Error('adamw: call setStep(step, lr) before the first update');
    positiveInt('adamw', 'n', n);
    for (const [name, buf] of [
      ['param', b.param],
      ['grad', b.grad],
      ['m', b.m],
      ['v', b.v],
    ] as const)
      this.k.need(name, buf, n);
    if (b.clip) this.k.need('clip', b.clip, GRAD_NORM_RESULT_VALUES);
    const dims = this.k.uniform([{ u32: n }, { u32: decay ? 1 : 0 }]);
    this.k.dispatchElements(
      encoder,
      this.k.pipeline('update', adamwWgsl),
      [this.hyper, dims, b.param, b.grad, b.m, b.v, b.clip ?? this.noClip],
      n,
    );
  }

  /** One step on host arrays (clip scale given directly): the new param, m and v. */
  async run(
    step: number,
    lr: number,
    p: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    opts: { decay?: boolean; clipScale?: number } = {},
  ) {
    return withArrays(this.device, async (run) => {
      const [gp, gg, gm, gv] = [p, g, m, v].map((a) => run.upload(a));
      const clip = opts.clipScale === undefined ? undefined : run.upload(new Float32Array([0, 0, opts.clipScale, 0]));
      this.setStep(step, lr);
      this.update(run.encoder, p.length, { param: gp, grad: gg, m: gm, v: gv, clip }, opts.decay ?? true);
      const [np, nm, nv] = await run.finish([gp, gm, gv].map((buffer) => ({ buffer, elements: p.length })));
      return { p: np, m: nm, v: nv };
    });
  }

  destroy(): void {
    this.hyper.destroy();
    this.noClip.destroy();
  }
}

// The decoder-only transformer on the device: parameters, gradients, AdamW moments and
// activations live in GPU buffers; a training step is one command buffer (forward, backward,
// gradient norm, AdamW) and reads back only the loss and the gradient norm.
// Layout and maths are those of reference-model.ts, which the tests compare against.
import { AdamW } from '../../kernels/ops/adamw.ts';
import { DEFAULT_ADAMW, type AdamWSettings } from '../../kernels/ops/limits.ts';
import { AttentionBackward } from '../../kernels/ops/attention-backward.ts';
import { Attention } from '../../kernels/attention/attention.ts';
import { Bias } from '../../kernels/ops/bias.ts';
import { CrossEntropy } from '../../kernels/ops/cross-entropy.ts';
import { Embedding, tokenIndex } from '../../kernels/ops/embedding.ts';
import { Gelu } from '../../kernels/ops/gelu.ts';
import { GradNorm, GRAD_NORM_RESULT_VALUES } from '../../kernels/ops/grad-norm.ts';
import { HeadLayout } from '../../kernels/ops/head-layout.ts';
import { LayerNorm } from '../../kernels/ops/layer-norm.ts';
import { ResidualAdd } from '../../kernels/ops/residual-add.ts';
import { SampleTokens } from '../../kernels/ops/sample-tokens.ts';
import { Gemm } from './gemm.ts';
import { headDim, type ModelConfig } from '../../shared/train/model-config.ts';
import { parameterLayout, type ParameterSpec, type Parameters } from '../../shared/train/parameters.ts';
import { quietly } from '../../kernels/quiet-wait.ts';

/** One batch's token ids and next-token targets (−1 = ignored), batchSize × seqLen. */
export interface DeviceBatch {
  batchSize: number;
  seqLen: number;
  inputs: Int32Array;
  targets: Int32Array;
}

export interface StepResult {
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

// A function, not a constant: GPUBufferUsage exists only once kernels/device.ts has loaded Dawn.
const storage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

class Ops {
  readonly embedding: Embedding;
  readonly layerNorm: LayerNorm;
  readonly gelu: Gelu;
  readonly crossEntropy: CrossEntropy;
  readonly add: ResidualAdd;
  readonly bias: Bias;
  readonly heads: HeadLayout;
  /** The fused flash-attention kernel (kernels/attention/) for training steps. */
  readonly flash: Attention;
  readonly attentionBackward: AttentionBackward;
  readonly gradNorm: GradNorm;
  readonly sample: SampleTokens;
  readonly gemm: Gemm;

  constructor(device: GPUDevice) {
    this.embedding = new Embedding(device);
    this.layerNorm = new LayerNorm(device);
    this.gelu = new Gelu(device);
    this.crossEntropy = new CrossEntropy(device);
    this.add = new ResidualAdd(device);
    this.bias = new Bias(device);
    this.heads = new HeadLayout(device);
    this.flash = new Attention(device);
    this.attentionBackward = new AttentionBackward(device);
    this.gradNorm = new GradNorm(device);
    this.sample = new SampleTokens(device);
    this.gemm = new Gemm(device);
  }
}

/** Activations of one batch shape, kept for the backward, and the backward's scratch. */
class Activations {
  private readonly owned: GPUBuffer[] = [];
  readonly ids: GPUBuffer;
  readonly targets: GPUBuffer;
  readonly offsets: GPUBuffer;
  readonly order: GPUBuffer;
  /** xs[l]: input of block l; xs[layers]: input of the final LayerNorm. */
  readonly xs: GPUBuffer[];
  readonly blocks: {
    ln1: GPUBuffer;
    mean1: GPUBuffer;
    rstd1: GPUBuffer;
    q: GPUBuffer;
    k: GPUBuffer;
    v: GPUBuffer;
    o: GPUBuffer;
    lse: GPUBuffer;
    att: GPUBuffer;
    xMid: GPUBuffer;
    ln2: GPUBuffer;
    mean2: GPUBuffer;
    rstd2: GPUBuffer;
    h1: GPUBuffer;
    g: GPUBuffer;
  }[];
  readonly lnf: GPUBuffer;
  readonly meanf: GPUBuffer;
  readonly rstdf: GPUBuffer;
  readonly logits: GPUBuffer;
  readonly rowLoss: GPUBuffer;
  readonly ceLse: GPUBuffer;
  readonly result: GPUBuffer;
  readonly predictions: GPUBuffer;
  // Scratch (forward temporaries and backward gradients of activations).
  readonly qkv: GPUBuffer;
  readonly proj: GPUBuffer;
  readonly dlogits: GPUBuffer;
  readonly dX: GPUBuffer;
  readonly dA: GPUBuffer;
  readonly dB: GPUBuffer;
  readonly dG: GPUBuffer;
  readonly dH1: GPUBuffer;
  readonly dQKV: GPUBuffer;
  readonly dq: GPUBuffer;
  readonly dk: GPUBuffer;
  readonly dv: GPUBuffer;
  readonly dO: GPUBuffer;
  readonly delta: GPUBuffer;

  constructor(
    device: GPUDevice,
    c: ModelConfig,
    readonly batchSize: number,
    readonly seqLen: number,
  ) {
    const N = batchSize * seqLen;
    const d = c.dModel;
    const buf = (elements: number, label: string) => {
      const b = device.createBuffer({ size: Math.max(16, elements * 4), usage: storage(), label });
      this.owned.push(b);
      return b;
    };
    const rowsH = batchSize * c.heads * seqLen;
    this.ids = buf(N, 'ids');
    this.targets = buf(N, 'targets');
    this.offsets = buf(c.vocabSize + 1, 'token offsets');
    this.order = buf(N, 'token order');
    this.xs = Array.from({ length: c.layers + 1 }, (_, l) => buf(N * d, `x${l}`));
    this.blocks = Array.from({ length: c.layers }, (_, l) => ({
      ln1: buf(N * d, `h.${l}.ln1`),
      mean1: buf(N, 'mean1'),
      rstd1: buf(N, 'rstd1'),
      q: buf(N * d, 'q'),
      k: buf(N * d, 'k'),
      v: buf(N * d, 'v'),
      o: buf(N * d, 'o'),
      lse: buf(rowsH, 'attn lse'),
      att: buf(N * d, 'att'),
      xMid: buf(N * d, 'xMid'),
      ln2: buf(N * d, 'ln2'),
      mean2: buf(N, 'mean2'),
      rstd2: buf(N, 'rstd2'),
      h1: buf(N * c.dFF, 'h1'),
      g: buf(N * c.dFF, 'g'),
    }));
    this.lnf = buf(N * d, 'lnf');
    this.meanf = buf(N, 'meanf');
    this.rstdf = buf(N, 'rstdf');
    this.logits = buf(N * c.vocabSize, 'logits');
    this.rowLoss = buf(N, 'row loss');
    this.ceLse = buf(N, 'ce lse');
    this.result = buf(2, 'loss result');
    this.predictions = buf(N, 'predictions');
    this.qkv = buf(N * 3 * d, 'qkv');
    this.proj = buf(N * d, 'proj');
    this.dlogits = buf(N * c.vocabSize, 'dlogits');
    this.dX = buf(N * d, 'dX');
    this.dA = buf(N * d, 'dA');
    this.dB = buf(N * d, 'dB');
    this.dG = buf(N * c.dFF, 'dG');
    this.dH1 = buf(N * c.dFF, 'dH1');
    this.dQKV = buf(N * 3 * d, 'dQKV');
    this.dq = buf(N * d, 'dq');
    this.dk = buf(N * d, 'dk');
    this.dv = buf(N * d, 'dv');
    this.dO = buf(N * d, 'dO');
    this.delta = buf(rowsH, 'delta');
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
  }
}

export class GpuModel {
  readonly layout: ParameterSpec[];
  readonly params = new Map<string, GPUBuffer>();
  readonly grads = new Map<string, GPUBuffer>();
  readonly m = new Map<string, GPUBuffer>();
  readonly v = new Map<string, GPUBuffer>();
  private readonly ops: Ops;
  private readonly adamw: AdamW;
  private readonly normResult: GPUBuffer;
  private readonly acts = new Map<string, Activations>();

  constructor(
    readonly device: GPUDevice,
    readonly config: ModelConfig,
    initial: Parameters,
    readonly optimizer: AdamWSettings = DEFAULT_ADAMW,
  ) {
    this.layout = parameterLayout(config);
    this.ops = new Ops(device);
    this.adamw = new AdamW(device, optimizer);
    for (const p of this.layout) {
      const data = initial.get(p.name);
      const n = p.shape.reduce((a, b) => a * b, 1);
      if (!data || data.length !== n)
        throw new Error(`gpu model: parameter ${p.name} needs ${n} values, got ${data?.length ?? 'none'}`);
      const make = (label: string) => device.createBuffer({ size: Math.max(16, n * 4), usage: storage(), label });
      const pb = make(p.name);
      device.queue.writeBuffer(pb, 0, data.buffer, data.byteOffset, data.byteLength);
      this.params.set(p.name, pb);
      this.grads.set(p.name, make(`d ${p.name}`));
      this.m.set(p.name, make(`m ${p.name}`)); // created zeroed
      this.v.set(p.name, make(`v ${p.name}`));
    }
    this.normResult = device.createBuffer({
      size: GRAD_NORM_RESULT_VALUES * 4,
      usage: storage(),
      label: 'grad norm result',
    });
  }

  private p(name: string): GPUBuffer {
    return this.params.get(name)!;
  }
  private gr(name: string): GPUBuffer {
    return this.grads.get(name)!;
  }

  private activations(batchSize: number, seqLen: number): Activations {
    if (seqLen > this.config.contextLength)
      throw new Error(`gpu model: sequences of ${seqLen} tokens exceed the context of ${this.config.contextLength}`);
    const key = `${batchSize}x${seqLen}`;
    let a = this.acts.get(key);
    if (!a) {
      a = new Activations(this.device, this.config, batchSize, seqLen);
      this.acts.set(key, a);
    }
    return a;
  }

  /** Writes a batch's ids, targets and inverse token index; returns its activations. */
  private upload(batch: DeviceBatch): Activations {
    const N = batch.batchSize * batch.seqLen;
    if (batch.inputs.length !== N || batch.targets.length !== N)
      throw new Error(`gpu model: inputs and targets need batchSize·seqLen = ${N} values`);
    const a = this.activations(batch.batchSize, batch.seqLen);
    const { offsets, order } = tokenIndex(batch.inputs, this.config.vocabSize);
    for (let i = 0; i < N; i++) {
      if (batch.targets[i] >= this.config.vocabSize)
        throw new Error(`gpu model: targets[${i}] = ${batch.targets[i]} is outside the vocabulary`);
    }
    const q = this.device.queue;
    q.writeBuffer(a.ids, 0, batch.inputs.buffer, batch.inputs.byteOffset, N * 4);
    q.writeBuffer(a.targets, 0, batch.targets.buffer, batch.targets.byteOffset, N * 4);
    q.writeBuffer(a.offsets, 0, offsets);
    q.writeBuffer(a.order, 0, order);
    return a;
  }

  private encodeForward(enc: GPUCommandEncoder, a: Activations): void {
    const c = this.config;
    const { batchSize: B, seqLen: T } = a;
    const N = B * T;
    const d = c.dModel;
    const H = c.heads;
    const hd = headDim(c);
    const o = this.ops;
    const eps = c.lnEps;
    o.embedding.forward(
      enc,
      { rows: N, dim: d, vocab: c.vocabSize, positions: T, posRows: c.contextLength },
      { ids: a.ids, table: this.p('wte'), out: a.xs[0], pos: this.p('wpe') },
    );
    for (let l = 0; l < c.layers; l++) {
      const k = a.blocks[l];
      const w = (s: string) => this.p(`h.${l}.${s}`);
      o.layerNorm.forward(
        enc,
        { rows: N, dim: d, eps },
        { x: a.xs[l], gamma: w('ln1.weight'), beta: w('ln1.bias'), y: k.ln1, mean: k.mean1, rstd: k.rstd1 },
      );
      o.gemm.nn(enc, N, d, 3 * d, k.ln1, w('attn.wqkv'), a.qkv);
      o.bias.add(enc, { rows: N, cols: 3 * d }, { bias: w('attn.bqkv'), y: a.qkv });
      const hs = { batch: B, seq: T, heads: H, headDim: hd };
      o.heads.splitQkv(enc, hs, { qkv: a.qkv, q: k.q, k: k.k, v: k.v });
      // Fused, causal, saving the log-sum-exp that the backward pass reads.
      o.flash.encode(
        enc,
        { batch: B, heads: H, seqQ: T, seqK: T, headDim: hd },
        { q: k.q, k: k.k, v: k.v, out: k.o, lse: k.lse },
        { causal: true },
      );
      o.heads.mergeHeads(enc, hs, { o: k.o, y: k.att });
      o.gemm.nn(enc, N, d, d, k.att, w('attn.wo'), a.proj);
      o.bias.add(enc, { rows: N, cols: d }, { bias: w('attn.bo'), y: a.proj });
      o.add.add(enc, N * d, { a: a.xs[l], b: a.proj, y: k.xMid });
      o.layerNorm.forward(
        enc,
        { rows: N, dim: d, eps },
        { x: k.xMid, gamma: w('ln2.weight'), beta: w('ln2.bias'), y: k.ln2, mean: k.mean2, rstd: k.rstd2 },
      );
      o.gemm.nn(enc, N, d, c.dFF, k.ln2, w('mlp.w1'), k.h1);
      o.bias.add(enc, { rows: N, cols: c.dFF }, { bias: w('mlp.b1'), y: k.h1 });
      o.gelu.forward(enc, N * c.dFF, { x: k.h1, y: k.g });
      o.gemm.nn(enc, N, c.dFF, d, k.g, w('mlp.w2'), a.proj);
      o.bias.add(enc, { rows: N, cols: d }, { bias: w('mlp.b2'), y: a.proj });
      o.add.add(enc, N * d, { a: k.xMid, b: a.proj, y: a.xs[l + 1] });
    }
    o.layerNorm.forward(
      enc,
      { rows: N, dim: d, eps },
      {
        x: a.xs[c.layers],
        gamma: this.p('lnf.weight'),
        beta: this.p('lnf.bias'),
        y: a.lnf,
        mean: a.meanf,
        rstd: a.rstdf,
      },
    );
    o.gemm.nn(enc, N, d, c.vocabSize, a.lnf, this.p('head.w'), a.logits);
    o.crossEntropy.forward(
      enc,
      { rows: N, vocab: c.vocabSize },
      { logits: a.logits, targets: a.targets, rowLoss: a.rowLoss, lse: a.ceLse, result: a.result },
    );
  }

  private encodeBackward(enc: GPUCommandEncoder, a: Activations): void {
    const c = this.config;
    const { batchSize: B, seqLen: T } = a;
    const N = B * T;
    const d = c.dModel;
    const F = c.dFF;
    const V = c.vocabSize;
    const H = c.heads;
    const hd = headDim(c);
    const o = this.ops;
    const eps = c.lnEps;
    o.crossEntropy.backward(
      enc,
      { rows: N, vocab: V },
      { logits: a.logits, targets: a.targets, lse: a.ceLse, result: a.result, dlogits: a.dlogits },
    );
    o.gemm.tn(enc, d, N, V, a.lnf, a.dlogits, this.gr('head.w'));
    o.gemm.nt(enc, N, V, d, a.dlogits, this.p('head.w'), a.dA);
    o.layerNorm.backward(
      enc,
      { rows: N, dim: d, eps },
      {
        x: a.xs[c.layers],
        gamma: this.p('lnf.weight'),
        mean: a.meanf,
        rstd: a.rstdf,
        dy: a.dA,
        dx: a.dX,
        dgamma: this.gr('lnf.weight'),
        dbeta: this.gr('lnf.bias'),
      },
    );
    for (let l = c.layers - 1; l >= 0; l--) {
      const k = a.blocks[l];
      const w = (s: string) => this.p(`h.${l}.${s}`);
      const g = (s: string) => this.gr(`h.${l}.${s}`);
      // dX = d(xs[l+1]); MLP branch.
      o.bias.grad(enc, { rows: N, cols: d }, { dy: a.dX, db: g('mlp.b2') });
      o.gemm.tn(enc, F, N, d, k.g, a.dX, g('mlp.w2'));
      o.gemm.nt(enc, N, d, F, a.dX, w('mlp.w2'), a.dG);
      o.gelu.backward(enc, N * F, { x: k.h1, dy: a.dG, dx: a.dH1 });
      o.bias.grad(enc, { rows: N, cols: F }, { dy: a.dH1, db: g('mlp.b1') });
      o.gemm.tn(enc, d, N, F, k.ln2, a.dH1, g('mlp.w1'));
      o.gemm.nt(enc, N, F, d, a.dH1, w('mlp.w1'), a.dA);
      o.layerNorm.backward(
        enc,
        { rows: N, dim: d, eps },
        {
          x: k.xMid,
          gamma: w('ln2.weight'),
          mean: k.mean2,
          rstd: k.rstd2,
          dy: a.dA,
          dx: a.dB,
          dgamma: g('ln2.weight'),
          dbeta: g('ln2.bias'),
        },
      );
      o.add.accumulate(enc, N * d, { a: a.dB, b: a.dX }); // dB = d(xMid)
      // Attention branch.
      o.bias.grad(enc, { rows: N, cols: d }, { dy: a.dB, db: g('attn.bo') });
      o.gemm.tn(enc, d, N, d, k.att, a.dB, g('attn.wo'));
      o.gemm.nt(enc, N, d, d, a.dB, w('attn.wo'), a.dA);
      const hs = { batch: B, seq: T, heads: H, headDim: hd };
      o.heads.splitHeads(enc, hs, { y: a.dA, o: a.dO });
      o.attentionBackward.encode(
        enc,
        { batch: B, heads: H, seqQ: T, seqK: T, headDim: hd },
        {
          q: k.q,
          k: k.k,
          v: k.v,
          o: k.o,
          lse: k.lse,
          dO: a.dO,
          delta: a.delta,
          dq: a.dq,
          dk: a.dk,
          dv: a.dv,
        },
      );
      o.heads.mergeQkvGrad(enc, hs, { dq: a.dq, dk: a.dk, dv: a.dv, dqkv: a.dQKV });
      o.bias.grad(enc, { rows: N, cols: 3 * d }, { dy: a.dQKV, db: g('attn.bqkv') });
      o.gemm.tn(enc, d, N, 3 * d, k.ln1, a.dQKV, g('attn.wqkv'));
      o.gemm.nt(enc, N, 3 * d, d, a.dQKV, w('attn.wqkv'), a.dA);
      o.layerNorm.backward(
        enc,
        { rows: N, dim: d, eps },
        {
          x: a.xs[l],
          gamma: w('ln1.weight'),
          mean: k.mean1,
          rstd: k.rstd1,
          dy: a.dA,
          dx: a.dX,
          dgamma: g('ln1.weight'),
          dbeta: g('ln1.bias'),
        },
      );
      o.add.accumulate(enc, N * d, { a: a.dX, b: a.dB }); // dX = d(xs[l])
    }
    o.embedding.backward(
      enc,
      { rows: N, dim: d, vocab: V, positions: T, posRows: c.contextLength },
      {
        offsets: a.offsets,
        order: a.order,
        dout: a.dX,
        dtable: this.gr('wte'),
        dpos: this.gr('wpe'),
      },
    );
  }

  /** Reads `elements` f32 values of each buffer back (one submit, one wait). */
  private async read(
    parts: { buffer: GPUBuffer; elements: number }[],
    enc = this.device.createCommandEncoder(),
  ): Promise<Float32Array[]> {
    const total = parts.reduce((s, p) => s + p.elements, 0);
    const staging = this.device.createBuffer({
      size: Math.max(16, total * 4),
      usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ,
    });
    let at = 0;
    for (const p of parts) {
      enc.copyBufferToBuffer(p.buffer, 0, staging, at * 4, p.elements * 4);
      at += p.elements;
    }
    this.device.queue.submit([enc.finish()]);
    await quietly(staging.mapAsync(GPUMapMode.READ));
    const all = new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    at = 0;
    return parts.map((p) => {
      const out = all.slice(at, at + p.elements);
      at += p.elements;
      return out;
    });
  }

  /** Forward only: the mean masked loss of a batch and its row count. */
  async loss(batch: DeviceBatch): Promise<{ loss: number; count: number }> {
    const a = this.upload(batch);
    const enc = this.device.createCommandEncoder();
    this.encodeForward(enc, a);
    const [r] = await this.read([{ buffer: a.result, elements: 2 }], enc);
    return { loss: r[0], count: r[1] };
  }

  /** Forward and backward without an update: the loss, and (for checks) every gradient and the logits. */
  async gradients(
    batch: DeviceBatch,
  ): Promise<{ loss: number; logits: Float32Array; grads: Map<string, Float32Array> }> {
    const a = this.upload(batch);
    const enc = this.device.createCommandEncoder();
    this.encodeForward(enc, a);
    this.encodeBackward(enc, a);
    const N = batch.batchSize * batch.seqLen;
    const sizes = this.layout.map((p) => p.shape.reduce((x, y) => x * y, 1));
    const out = await this.read(
      [
        { buffer: a.result, elements: 2 },
        { buffer: a.logits, elements: N * this.config.vocabSize },
        ...this.layout.map((p, i) => ({ buffer: this.gr(p.name), elements: sizes[i] })),
      ],
      enc,
    );
    return { loss: out[0][0], logits: out[1], grads: new Map(this.layout.map((p, i) => [p.name, out[i + 2]])) };
  }

  /**
   * One training step, all on the device: forward, backward, global gradient norm (clipped
   * to maxGradNorm), AdamW at `lr` for 1-based `step`. Reads back the loss and the norm only.
   */
  async step(batch: DeviceBatch, step: number, lr: number, maxGradNorm = Infinity): Promise<StepResult> {
    const a = this.upload(batch);
    const enc = this.device.createCommandEncoder();
    this.encodeForward(enc, a);
    this.encodeBackward(enc, a);
    const slices = this.layout.map((p) => ({ buffer: this.gr(p.name), n: p.shape.reduce((x, y) => x * y, 1) }));
    this.ops.gradNorm.norm(enc, slices, this.normResult, maxGradNorm);
    this.adamw.setStep(step, lr);
    this.layout.forEach((p, i) => {
      this.adamw.update(
        enc,
        slices[i].n,
        {
          param: this.p(p.name),
          grad: slices[i].buffer,
          m: this.m.get(p.name)!,
          v: this.v.get(p.name)!,
          clip: this.normResult,
        },
        p.decay,
      );
    });
    const [r, nr] = await this.read(
      [
        { buffer: a.result, elements: 2 },
        { buffer: this.normResult, elements: 2 },
      ],
      enc,
    );
    return { loss: r[0], gradNorm: nr[1] };
  }

  /**
   * The next token at every position of a batch (teacher forcing), and the loss: greedy, or
   * at a temperature with one uniform number per position.
   */
  async predict(
    batch: DeviceBatch,
    sampling: { temperature: number; uniforms: Float32Array } = { temperature: 0, uniforms: new Float32Array(0) },
  ): Promise<{ predictions: Int32Array; loss: number }> {
    const a = this.upload(batch);
    const enc = this.device.createCommandEncoder();
    this.encodeForward(enc, a);
    const N = batch.batchSize * batch.seqLen;
    let uniforms: GPUBuffer | undefined;
    if (sampling.temperature > 0) {
      if (sampling.uniforms.length !== N)
        throw new Error(`gpu model: sampling needs ${N} uniform numbers, got ${sampling.uniforms.length}`);
      uniforms = this.device.createBuffer({ size: N * 4, usage: storage() });
      this.device.queue.writeBuffer(uniforms, 0, sampling.uniforms);
    }
    this.ops.sample.encode(
      enc,
      { rows: N, vocab: this.config.vocabSize },
      { logits: a.logits, ids: a.predictions, uniforms },
      sampling.temperature,
    );
    const [r, p] = await this.read(
      [
        { buffer: a.result, elements: 2 },
        { buffer: a.predictions, elements: N },
      ],
      enc,
    );
    uniforms?.destroy();
    return { predictions: new Int32Array(p.buffer, p.byteOffset, N), loss: r[0] };
  }

  /** Parameters (and AdamW moments) back on the host, for a checkpoint. */
  async readState(): Promise<{ params: Parameters; moments: { m: Parameters; v: Parameters } }> {
    const sizes = this.layout.map((p) => p.shape.reduce((x, y) => x * y, 1));
    const parts = [this.params, this.m, this.v].flatMap((map) =>
      this.layout.map((p, i) => ({ buffer: map.get(p.name)!, elements: sizes[i] })),
    );
    const out = await this.read(parts);
    const L = this.layout.length;
    const pick = (k: number): Parameters => new Map(this.layout.map((p, i) => [p.name, out[k * L + i]]));
    return { params: pick(0), moments: { m: pick(1), v: pick(2) } };
  }

  /** Restores AdamW moments (resuming from a checkpoint). */
  loadMoments(moments: { m: Parameters; v: Parameters }): void {
    for (const p of this.layout) {
      for (const [map, src] of [
        [this.m, moments.m],
        [this.v, moments.v],
      ] as const) {
        const data = src.get(p.name);
        if (!data) throw new Error(`gpu model: moment of ${p.name} is missing`);
        this.device.queue.writeBuffer(map.get(p.name)!, 0, data.buffer, data.byteOffset, data.byteLength);
      }
    }
  }

  destroy(): void {
    for (const a of this.acts.values()) a.destroy();
    for (const map of [this.params, this.grads, this.m, this.v]) for (const b of map.values()) b.destroy();
    this.normResult.destroy();
    this.adamw.destroy();
  }
}

// Autoregressive decoding with a KV cache on the device: each step runs the model on one
// new position per sequence, appends its keys and values to the cache, and attends over the
// cache. The sampled token stays on the device as the next step's input; the tokens are
// read back once at the end. Greedy output is bit-identical to re-running the whole prefix
// (every op computes a row the same way whatever the other rows are).
import { seededRandom } from '../../kernels/random.ts';
import { AttentionRows } from '../../kernels/ops/attention-rows.ts';
import { Bias } from '../../kernels/ops/bias.ts';
import { Embedding } from '../../kernels/ops/embedding.ts';
import { Gelu } from '../../kernels/ops/gelu.ts';
import { HeadLayout } from '../../kernels/ops/head-layout.ts';
import { KvCache } from '../../kernels/ops/kv-cache.ts';
import { LayerNorm } from '../../kernels/ops/layer-norm.ts';
import { ResidualAdd } from '../../kernels/ops/residual-add.ts';
import { SampleTokens } from '../../kernels/ops/sample-tokens.ts';
import { Gemm } from './gemm.ts';
import type { GenerateOptions } from './generate.ts';
import type { GpuModel } from './gpu-model.ts';
import { headDim } from '../../shared/train/model-config.ts';
import { quietly } from '../../kernels/quiet-wait.ts';

export interface DecodeResult {
  /** New tokens per prompt, cut after the stop token when one is given. */
  tokens: number[][];
  /** New tokens produced per second (all sequences, prefill included in the time). */
  tokensPerSecond: number;
}

export class KvDecoder {
  private readonly embedding: Embedding;
  private readonly layerNorm: LayerNorm;
  private readonly gelu: Gelu;
  private readonly add: ResidualAdd;
  private readonly bias: Bias;
  private readonly heads: HeadLayout;
  private readonly attention: AttentionRows;
  private readonly cache: KvCache;
  private readonly sample: SampleTokens;
  private readonly gemm: Gemm;

  constructor(readonly model: GpuModel) {
    const device = model.device;
    this.embedding = new Embedding(device);
    this.layerNorm = new LayerNorm(device);
    this.gelu = new Gelu(device);
    this.add = new ResidualAdd(device);
    this.bias = new Bias(device);
    this.heads = new HeadLayout(device);
    this.attention = new AttentionRows(device);
    this.cache = new KvCache(device);
    this.sample = new SampleTokens(device);
    this.gemm = new Gemm(device);
  }

  /** Continues each prompt; prompts of the same length decode as one batch. */
  async decode(prompts: number[][], o: GenerateOptions): Promise<DecodeResult> {
    const c = this.model.config;
    const byLength = new Map<number, number[]>();
    prompts.forEach((p, i) => {
      if (p.length === 0) throw new Error(`decode: prompt ${i} is empty`);
      if (p.length + o.maxNewTokens - 1 > c.contextLength) {
        throw new Error(
          `decode: prompt ${i} (${p.length} tokens) plus ${o.maxNewTokens} new tokens exceeds the model's context of ${c.contextLength}`,
        );
      }
      for (const t of p)
        if (!(Number.isInteger(t) && t >= 0 && t < c.vocabSize))
          throw new Error(`decode: prompt ${i} has token ${t}, outside the vocabulary`);
      byLength.set(p.length, [...(byLength.get(p.length) ?? []), i]);
    });
    if (!(o.maxNewTokens >= 1)) throw new Error(`decode: maxNewTokens must be at least 1, got ${o.maxNewTokens}`);
    const rnd = seededRandom(o.seed ?? 1);
    const tokens: number[][] = prompts.map(() => []);
    const t0 = performance.now();
    for (const [, group] of [...byLength].sort((x, y) => x[0] - y[0])) {
      const out = await this.decodeGroup(
        group.map((i) => prompts[i]),
        o,
        rnd,
      );
      group.forEach((i, b) => {
        const seq = out[b];
        const stop = o.stopToken === undefined ? -1 : seq.indexOf(o.stopToken);
        tokens[i] = stop >= 0 ? seq.slice(0, stop + 1) : seq;
      });
    }
    const seconds = (performance.now() - t0) / 1000;
    return { tokens, tokensPerSecond: (prompts.length * o.maxNewTokens) / Math.max(seconds, 1e-9) };
  }

  private async decodeGroup(prompts: number[][], o: GenerateOptions, rnd: () => number): Promise<number[][]> {
    const device = this.model.device;
    const c = this.model.config;
    const B = prompts.length;
    const P = prompts[0].length;
    const d = c.dModel;
    const H = c.heads;
    const hd = headDim(c);
    const F = c.dFF;
    const cap = P + o.maxNewTokens - 1;
    const temperature = o.temperature ?? 0;
    const owned: GPUBuffer[] = [];
    const buf = (elements: number) => {
      const b = device.createBuffer({
        size: Math.max(16, elements * 4),
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      });
      owned.push(b);
      return b;
    };
    try {
      const ids = buf(B);
      let x = buf(B * d);
      let x2 = buf(B * d);
      const [ln, mean, rstd, qkv, q, k, v, oh, att, proj] = [
        B * d,
        B,
        B,
        3 * B * d,
        B * d,
        B * d,
        B * d,
        B * d,
        B * d,
        B * d,
      ].map(buf);
      const [h1, g, logits, uniforms, lse] = [B * F, B * F, B * c.vocabSize, B, B * H].map(buf);
      const kc = Array.from({ length: c.layers }, () => buf(B * H * cap * hd));
      const vc = Array.from({ length: c.layers }, () => buf(B * H * cap * hd));
      const out = buf(o.maxNewTokens * B);
      const p = (name: string) => this.model.params.get(name)!;
      const hs = { batch: B, seq: 1, heads: H, headDim: hd };
      for (let t = 0; t < cap; t++) {
        if (t < P) device.queue.writeBuffer(ids, 0, Int32Array.from(prompts.map((pr) => pr[t])));
        const produces = t >= P - 1;
        if (produces && temperature > 0)
          device.queue.writeBuffer(
            uniforms,
            0,
            Float32Array.from({ length: B }, () => rnd()),
          );
        const enc = device.createCommandEncoder();
        this.embedding.forward(
          enc,
          { rows: B, dim: d, vocab: c.vocabSize, positions: 1, posRows: c.contextLength, posOffset: t },
          { ids, table: p('wte'), out: x, pos: p('wpe') },
        );
        for (let l = 0; l < c.layers; l++) {
          const w = (s: string) => p(`h.${l}.${s}`);
          this.layerNorm.forward(
            enc,
            { rows: B, dim: d, eps: c.lnEps },
            { x, gamma: w('ln1.weight'), beta: w('ln1.bias'), y: ln, mean, rstd },
          );
          this.gemm.nn(enc, B, d, 3 * d, ln, w('attn.wqkv'), qkv);
          this.bias.add(enc, { rows: B, cols: 3 * d }, { bias: w('attn.bqkv'), y: qkv });
          this.heads.splitQkv(enc, hs, { qkv, q, k, v });
          const cs = { batch: B, heads: H, headDim: hd, capacity: cap };
          this.cache.write(enc, cs, t, { src: k, cache: kc[l] });
          this.cache.write(enc, cs, t, { src: v, cache: vc[l] });
          this.attention.encode(
            enc,
            { batch: B, heads: H, seqQ: 1, seqK: t + 1, headDim: hd, kvRows: cap },
            { q, k: kc[l], v: vc[l], o: oh, lse },
          );
          this.heads.mergeHeads(enc, hs, { o: oh, y: att });
          this.gemm.nn(enc, B, d, d, att, w('attn.wo'), proj);
          this.bias.add(enc, { rows: B, cols: d }, { bias: w('attn.bo'), y: proj });
          this.add.add(enc, B * d, { a: x, b: proj, y: x2 });
          [x, x2] = [x2, x];
          this.layerNorm.forward(
            enc,
            { rows: B, dim: d, eps: c.lnEps },
            { x, gamma: w('ln2.weight'), beta: w('ln2.bias'), y: ln, mean, rstd },
          );
          this.gemm.nn(enc, B, d, F, ln, w('mlp.w1'), h1);
          this.bias.add(enc, { rows: B, cols: F }, { bias: w('mlp.b1'), y: h1 });
          this.gelu.forward(enc, B * F, { x: h1, y: g });
          this.gemm.nn(enc, B, F, d, g, w('mlp.w2'), proj);
          this.bias.add(enc, { rows: B, cols: d }, { bias: w('mlp.b2'), y: proj });
          this.add.add(enc, B * d, { a: x, b: proj, y: x2 });
          [x, x2] = [x2, x];
        }
        if (produces) {
          this.layerNorm.forward(
            enc,
            { rows: B, dim: d, eps: c.lnEps },
            { x, gamma: p('lnf.weight'), beta: p('lnf.bias'), y: ln, mean, rstd },
          );
          this.gemm.nn(enc, B, d, c.vocabSize, ln, p('head.w'), logits);
          // The sampled token becomes the next step's input without leaving the device.
          this.sample.encode(
            enc,
            { rows: B, vocab: c.vocabSize },
            { logits, ids, uniforms: temperature > 0 ? uniforms : undefined },
            temperature,
          );
          enc.copyBufferToBuffer(ids, 0, out, (t - (P - 1)) * B * 4, B * 4);
        }
        device.queue.submit([enc.finish()]);
      }
      const staging = device.createBuffer({
        size: Math.max(16, o.maxNewTokens * B * 4),
        usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ,
      });
      owned.push(staging);
      const enc = device.createCommandEncoder();
      enc.copyBufferToBuffer(out, 0, staging, 0, o.maxNewTokens * B * 4);
      device.queue.submit([enc.finish()]);
      await quietly(staging.mapAsync(GPUMapMode.READ));
      const all = new Int32Array(staging.getMappedRange().slice(0, o.maxNewTokens * B * 4));
      staging.unmap();
      return prompts.map((_, b) => Array.from({ length: o.maxNewTokens }, (_, s) => all[s * B + b]));
    } finally {
      for (const b of owned) b.destroy();
    }
  }

  destroy(): void {}
}

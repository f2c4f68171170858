// Attention in the benchmark (`npm run bench -- --kernel attention`): our fused kernel, the
// naive unfused WGSL baseline, ONNX Runtime WebGPU's com.microsoft MultiHeadAttention and
// TF.js WebGPU composed as matMul·softmax·matMul. FLOPs: 4·B·H·Sq·Sk·D, halved when causal
// and Sq = Sk. Causal runs also time our non-causal kernel and print how much faster causal is.
import { fileURLToPath } from 'node:url';
import { randomMatrix } from '../random.ts';
import { registerBenchKernel } from '../bench/registry.ts';
import type { BenchContext, BenchImpl, PreparedRun } from '../bench/types.ts';
import { runChild } from '../bench/baselines/child-process.ts';
import { NaiveAttention } from '../bench/baselines/attention-naive.ts';
import type { OneNodeGraph } from '../bench/baselines/onnx-graph.ts';
import { Attention, tensorBytes } from './attention.ts';
import { attentionFlops, kvElements, qElements, type AttentionShape } from './attention-shape.ts';
import { toHalf } from '../f16.ts';
import { quietly } from '../quiet-wait.ts';

export interface AttentionBenchShape extends AttentionShape {
  causal: boolean;
}

/** `HxSxD` (batch 1), `BxHxSxD`, or `…xSqxSkxD` with `BxHxSqxSkxD`; a trailing `c` means causal. */
function parseSize(text: string): AttentionBenchShape {
  const causal = /c$/i.test(text);
  const parts = text.replace(/c$/i, '').toLowerCase().split('x').map(Number);
  if (parts.some((v) => !Number.isInteger(v) || v < 1) || parts.length < 3 || parts.length > 5) {
    throw new Error(
      `bad attention size "${text}": use HxSxD, BxHxSxD or BxHxSqxSkxD, with a trailing c for causal (e.g. 8x1024x64c)`,
    );
  }
  const [batch, heads, seqQ, seqK, headDim] =
    parts.length === 3
      ? [1, parts[0], parts[1], parts[1], parts[2]]
      : parts.length === 4
        ? [parts[0], parts[1], parts[2], parts[2], parts[3]]
        : parts;
  return { batch, heads, seqQ, seqK, headDim, causal };
}

function describe(s: AttentionBenchShape): string {
  const seq = s.seqQ === s.seqK ? `seq ${s.seqQ}` : `seqQ ${s.seqQ} seqK ${s.seqK}`;
  return `batch ${s.batch} · ${s.heads} heads · ${seq} · head dim ${s.headDim} · ${s.causal ? 'causal' : 'non-causal'} (FLOPs 4·B·H·Sq·Sk·D${s.causal && s.seqQ === s.seqK ? ' ÷ 2' : ''})`;
}

function inputs(s: AttentionShape) {
  return { q: randomMatrix(qElements(s), 1), k: randomMatrix(kvElements(s), 2), v: randomMatrix(kvElements(s), 3) };
}

function gpuInputs(device: GPUDevice, s: AttentionShape, dtype: 'f32' | 'f16') {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const up = (a: Float32Array) => {
    const data = dtype === 'f16' ? toHalf(a, true) : a;
    const b = device.createBuffer({ size: tensorBytes(a.length, dtype), usage });
    device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
    return b;
  };
  const x = inputs(s);
  return {
    q: up(x.q),
    k: up(x.k),
    v: up(x.v),
    out: device.createBuffer({ size: tensorBytes(qElements(s), dtype), usage }),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const usine: BenchImpl<AttentionBenchShape> = {
  impl: 'usine',
  unsupported: (_s, ctx) =>
    ctx.dtype === 'f16' && !ctx.gpu.device.features.has('shader-f16') ? 'no shader-f16 on this adapter' : undefined,
  async prepare(s, ctx: BenchContext): Promise<PreparedRun[]> {
    const { device } = ctx.gpu;
    const att = new Attention(device);
    const bufs = gpuInputs(device, s, ctx.dtype);
    const opts = { causal: s.causal, dtype: ctx.dtype };
    // Quietly: the timer's read-back would otherwise spin a core (dawn.node polling) that
    // lavapipe needs for the shader, and inflate our GPU time (see quiet-wait.ts).
    const timeOnce = (causal: boolean) =>
      quietly(ctx.timer.time((enc, timestampWrites) => att.encode(enc, s, bufs, { ...opts, causal, timestampWrites })));
    let note: string | undefined;
    if (s.causal) {
      // Our own non-causal figure at the same size, for the causal speed-up. Alternating the
      // two keeps a burst of load on a shared machine from landing on one side only.
      const t: number[] = [];
      const c: number[] = [];
      for (let i = 0; i < ctx.warmup + ctx.repeats; i++) {
        t.push(await timeOnce(false));
        c.push(await timeOnce(true));
      }
      const nonCausal = median(t.slice(ctx.warmup));
      note = `causal ${(nonCausal / median(c.slice(ctx.warmup))).toFixed(2)}× faster than our non-causal (${nonCausal.toFixed(1)} ms)`;
    }
    const host = inputs(s);
    return [
      { timing: ctx.timer.timing, note, run: () => timeOnce(s.causal), dispose: () => {} },
      {
        timing: 'wall+io',
        run: async () => {
          const t0 = performance.now();
          await att.run(s, host.q, host.k, host.v, opts);
          return performance.now() - t0;
        },
        dispose: () => Object.values(bufs).forEach((b) => b.destroy()),
      },
    ];
  },
};

const naive: BenchImpl<AttentionBenchShape> = {
  impl: 'naive',
  unsupported: (s, ctx) => {
    if (ctx.dtype === 'f16') return 'the naive baseline is f32 only';
    const bytes = s.batch * s.heads * s.seqQ * s.seqK * 4;
    return bytes > ctx.gpu.device.limits.maxStorageBufferBindingSize
      ? `its ${bytes}-byte score matrix is over the binding limit`
      : undefined;
  },
  async prepare(s, ctx) {
    const { device } = ctx.gpu;
    const bufs = gpuInputs(device, s, 'f32');
    const k = new NaiveAttention(device, {
      bh: s.batch * s.heads,
      seqQ: s.seqQ,
      seqK: s.seqK,
      headDim: s.headDim,
      causal: s.causal,
    });
    return [
      {
        timing: ctx.timer.timing,
        run: () => ctx.timer.time((enc, tw) => k.encode(enc, bufs.q, bufs.k, bufs.v, bufs.out, tw)),
        dispose: () => {
          k.destroy();
          Object.values(bufs).forEach((b) => b.destroy());
        },
      },
    ];
  },
};

function replay(times: number[], timing: PreparedRun['timing'], note?: string): PreparedRun {
  let i = 0;
  return { timing, note, run: async () => times[Math.min(i++, times.length - 1)], dispose: () => {} };
}

const ort: BenchImpl<AttentionBenchShape> = {
  impl: 'ort',
  unsupported: (s) => (s.causal ? 'compared on the non-causal case (MultiHeadAttention without a mask)' : undefined),
  async prepare(s, ctx) {
    const type = ctx.dtype === 'f16' ? 'float16' : 'float32';
    const hidden = s.heads * s.headDim;
    const graph: OneNodeGraph = {
      opType: 'MultiHeadAttention',
      domain: 'com.microsoft',
      inputs: [
        { name: 'query', type, dims: [s.batch, s.seqQ, hidden] },
        { name: 'key', type, dims: [s.batch, s.seqK, hidden] },
        { name: 'value', type, dims: [s.batch, s.seqK, hidden] },
      ],
      outputs: [{ name: 'output', type, dims: [s.batch, s.seqQ, hidden] }],
      attributes: { num_heads: { type: 'int', value: s.heads } },
    };
    const r = await runChild('ort-child.ts', { graph, warmup: ctx.warmup, repeats: ctx.repeats });
    return [replay(r.times, 'wall+io', r.info)];
  },
};

const tfjs: BenchImpl<AttentionBenchShape> = {
  impl: 'tfjs',
  unsupported: (_s, ctx) => (ctx.dtype === 'f16' ? 'compared in f32 only' : undefined),
  async prepare(s, ctx) {
    const module = fileURLToPath(new URL('../bench/baselines/attention-tfjs.ts', import.meta.url));
    const r = await runChild('tfjs-child.ts', { module, args: s, warmup: ctx.warmup, repeats: ctx.repeats });
    return [replay(r.times, 'wall+read', r.info)];
  },
};

registerBenchKernel<AttentionBenchShape>({
  name: 'attention',
  defaultSizes: ['8x1024x64', '8x1024x64c'],
  sizesHelp: 'HxSxD, BxHxSxD or BxHxSqxSkxD; trailing c = causal',
  parseSize,
  describe,
  flops: (s) => attentionFlops(s, s.causal),
  impls: [usine, naive, ort, tfjs],
});

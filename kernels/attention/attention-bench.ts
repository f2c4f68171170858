// Attention in the benchmark (`npm run bench -- --kernel attention`): our fused kernel, the
// naive unfused WGSL baseline, ONNX Runtime WebGPU's com.microsoft MultiHeadAttention and
// TF.js WebGPU composed as matMul·softmax·matMul. FLOPs: 4·B·H·Sq·Sk·D, halved when causal
// and Sq = Sk. Causal runs also time our non-causal kernel and print how much faster causal is.
import { fileURLToPath } from 'node:url';
import { registerBenchKernel } from '../bench/registry.ts';
import type { BenchImpl, PreparedRun } from '../bench/types.ts';
import { runChild } from '../bench/baselines/child-process.ts';
import { NaiveAttention } from '../bench/baselines/attention-naive.ts';
import type { OneNodeGraph } from '../bench/baselines/onnx-graph.ts';
import {
  attentionBenchKernel,
  gpuInputs,
  usineAttentionImpl,
  type AttentionBenchShape,
} from './attention-bench-kernel.ts';

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

registerBenchKernel(attentionBenchKernel([usineAttentionImpl, naive, ort, tfjs]));

// Attention in the benchmark, the browser-safe part: sizes, FLOPs and our fused kernel. The Node
// benchmark (attention-bench.ts) adds the baselines; the console page runs this as is.
import { randomMatrix } from '../random.ts';
import type { BenchContext, BenchImpl, BenchKernel, PreparedRun } from '../bench/types.ts';
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

/** Q, K, V from fixed seeds and an output buffer, on the GPU. */
export function gpuInputs(device: GPUDevice, s: AttentionShape, dtype: 'f32' | 'f16') {
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

export const usineAttentionImpl: BenchImpl<AttentionBenchShape> = {
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

/** The attention benchmark with these implementations. */
export function attentionBenchKernel(impls: BenchImpl<AttentionBenchShape>[]): BenchKernel<AttentionBenchShape> {
  return {
    name: 'attention',
    defaultSizes: ['8x1024x64', '8x1024x64c'],
    sizesHelp: 'HxSxD, BxHxSxD or BxHxSqxSkxD; trailing c = causal',
    parseSize,
    describe,
    flops: (s) => attentionFlops(s, s.causal),
    impls,
  };
}

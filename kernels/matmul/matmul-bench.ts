// Matmul in the benchmark: our kernel, the naive WGSL baseline, ORT WebGPU and TF.js WebGPU.
import { fileURLToPath } from 'node:url';
import { randomMatrix } from '../random.ts';
import { registerBenchKernel } from '../bench/registry.ts';
import type { BenchContext, BenchImpl, PreparedRun } from '../bench/types.ts';
import { NaiveMatmul } from '../bench/baselines/naive-matmul.ts';
import { runChild } from '../bench/baselines/child-process.ts';
import type { OneNodeGraph } from '../bench/baselines/onnx-graph.ts';
import { Matmul } from './matmul.ts';
import { MatmulTuner } from '../autotune/matmul-tuner.ts';
import { configKey } from './matmul-program.ts';

export interface MatmulBenchShape {
  m: number;
  n: number;
  k: number;
}

function parseSize(text: string): MatmulBenchShape {
  const parts = text
    .toLowerCase()
    .split('x')
    .map((s) => Number(s));
  if (parts.some((v) => !Number.isInteger(v) || v < 1) || (parts.length !== 1 && parts.length !== 3)) {
    throw new Error(`bad matmul size "${text}": use N (N×N×N) or MxNxK, e.g. 1024 or 512x256x1024`);
  }
  const [m, n, k] = parts.length === 1 ? [parts[0], parts[0], parts[0]] : parts;
  return { m, n, k };
}

async function wallIo(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const usine: BenchImpl<MatmulBenchShape> = {
  impl: 'usine',
  async prepare(s, ctx: BenchContext): Promise<PreparedRun[]> {
    const { device } = ctx.gpu;
    const mm = new Matmul(device, { software: ctx.gpu.info.software });
    const spec = { ...s, dtype: ctx.dtype };
    // Stored tuning results are used when present; --tune (re)tunes this size first.
    const tuner = new MatmulTuner(mm, { dir: ctx.tuningDir, onFirstUse: false, log: ctx.log });
    await tuner.load();
    if (ctx.tune) await tuner.ensure(spec, { force: true });
    const a = randomMatrix(s.m * s.k, 1);
    const b = randomMatrix(s.k * s.n, 2);
    const ga = mm.upload(a, ctx.dtype);
    const gb = mm.upload(b, ctx.dtype);
    const gc = mm.output(s.m * s.n, ctx.dtype);
    const note = `config ${configKey(mm.configFor(spec))}`;
    return [
      {
        timing: ctx.timer.timing,
        note,
        run: () =>
          ctx.timer.time((enc, timestampWrites) => mm.encode(enc, spec, { a: ga, b: gb, c: gc }, { timestampWrites })),
        dispose: () => {},
      },
      {
        timing: 'wall+io',
        run: () => wallIo(() => mm.run(spec, a, b)),
        dispose: () => {
          ga.destroy();
          gb.destroy();
          gc.destroy();
        },
      },
    ];
  },
};

const naive: BenchImpl<MatmulBenchShape> = {
  impl: 'naive',
  async prepare(s, ctx) {
    const mm = new Matmul(ctx.gpu.device); // only for its upload/output helpers
    const ga = mm.upload(randomMatrix(s.m * s.k, 1), ctx.dtype);
    const gb = mm.upload(randomMatrix(s.k * s.n, 2), ctx.dtype);
    const gc = mm.output(s.m * s.n, ctx.dtype);
    const k = new NaiveMatmul(ctx.gpu.device, s.m, s.n, s.k, ctx.dtype);
    return [
      {
        timing: ctx.timer.timing,
        run: () => ctx.timer.time((enc, tw) => k.encode(enc, ga, gb, gc, tw)),
        dispose: () => {
          k.destroy();
          ga.destroy();
          gb.destroy();
          gc.destroy();
        },
      },
    ];
  },
};

/** A PreparedRun replaying times a child process measured (warm-up first, as the runner asks). */
function replay(times: number[], timing: PreparedRun['timing'], note?: string): PreparedRun {
  let i = 0;
  return { timing, note, run: async () => times[Math.min(i++, times.length - 1)], dispose: () => {} };
}

const ort: BenchImpl<MatmulBenchShape> = {
  impl: 'ort',
  async prepare(s, ctx) {
    const type = ctx.dtype === 'f16' ? 'float16' : 'float32';
    const graph: OneNodeGraph = {
      opType: 'MatMul',
      inputs: [
        { name: 'A', type, dims: [s.m, s.k] },
        { name: 'B', type, dims: [s.k, s.n] },
      ],
      outputs: [{ name: 'C', type, dims: [s.m, s.n] }],
    };
    const r = await runChild('ort-child.ts', { graph, warmup: ctx.warmup, repeats: ctx.repeats });
    return [replay(r.times, 'wall+io', r.info)];
  },
};

const tfjs: BenchImpl<MatmulBenchShape> = {
  impl: 'tfjs',
  unsupported: (_s, ctx) => (ctx.dtype === 'f16' ? 'TF.js WebGPU has no f16 matMul' : undefined),
  async prepare(s, ctx) {
    const module = fileURLToPath(new URL('./matmul-tfjs.ts', import.meta.url));
    const r = await runChild('tfjs-child.ts', { module, args: s, warmup: ctx.warmup, repeats: ctx.repeats });
    return [replay(r.times, 'wall+read', r.info)];
  },
};

registerBenchKernel<MatmulBenchShape>({
  name: 'matmul',
  defaultSizes: ['256', '512', '1024'],
  sizesHelp: 'N for N×N×N or MxNxK',
  parseSize,
  describe: (s) => `${s.m}×${s.n}×${s.k}`,
  flops: (s) => 2 * s.m * s.n * s.k,
  impls: [usine, naive, ort, tfjs],
});

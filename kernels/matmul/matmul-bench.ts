// Matmul in the benchmark: our kernel (matmul-bench-kernel.ts, with the tuner), the naive WGSL
// baseline, ORT WebGPU and TF.js WebGPU.
import { fileURLToPath } from 'node:url';
import { randomMatrix } from '../random.ts';
import { registerBenchKernel } from '../bench/registry.ts';
import type { BenchImpl, PreparedRun } from '../bench/types.ts';
import { NaiveMatmul } from '../bench/baselines/naive-matmul.ts';
import { runChild } from '../bench/baselines/child-process.ts';
import type { OneNodeGraph } from '../bench/baselines/onnx-graph.ts';
import { Matmul } from './matmul.ts';
import { MatmulTuner } from '../autotune/matmul-tuner.ts';
import { matmulBenchKernel, usineMatmulImpl, type MatmulBenchShape } from './matmul-bench-kernel.ts';

// Stored tuning results are used when present; --tune (re)tunes this size first.
const usine = usineMatmulImpl(async (mm, spec, ctx) => {
  const tuner = new MatmulTuner(mm, { dir: ctx.tuningDir, onFirstUse: false, log: ctx.log });
  await tuner.load();
  if (ctx.tune) await tuner.ensure(spec, { force: true });
});

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

registerBenchKernel(matmulBenchKernel([usine, naive, ort, tfjs]));

// Matmul in the benchmark, the browser-safe part: sizes, FLOPs and our own kernel. The Node
// benchmark (matmul-bench.ts) adds the tuner and the baselines; the console page runs this as is.
import { randomMatrix } from '../random.ts';
import type { BenchContext, BenchImpl, BenchKernel, PreparedRun } from '../bench/types.ts';
import { Matmul, type MatmulSpec } from './matmul.ts';
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

/** Gets `mm` ready for `spec` before it is timed (the Node benchmark loads or runs the tuner). */
export type MatmulBenchTuning = (mm: Matmul, spec: MatmulSpec, ctx: BenchContext) => Promise<void>;

/** Our kernel: GPU time of the pass on resident inputs, and wall time from host arrays to host arrays. */
export function usineMatmulImpl(tune?: MatmulBenchTuning): BenchImpl<MatmulBenchShape> {
  return {
    impl: 'usine',
    unsupported: (_s, ctx) =>
      ctx.dtype === 'f16' && !ctx.gpu.device.features.has('shader-f16') ? 'no shader-f16 on this adapter' : undefined,
    async prepare(s, ctx: BenchContext): Promise<PreparedRun[]> {
      const { device } = ctx.gpu;
      const mm = new Matmul(device, { software: ctx.gpu.info.software });
      const spec = { ...s, dtype: ctx.dtype };
      await tune?.(mm, spec, ctx);
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
            ctx.timer.time((enc, timestampWrites) =>
              mm.encode(enc, spec, { a: ga, b: gb, c: gc }, { timestampWrites }),
            ),
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
}

/** The matmul benchmark with these implementations. */
export function matmulBenchKernel(impls: BenchImpl<MatmulBenchShape>[]): BenchKernel<MatmulBenchShape> {
  return {
    name: 'matmul',
    defaultSizes: ['256', '512', '1024'],
    sizesHelp: 'N for N×N×N or MxNxK',
    parseSize,
    describe: (s) => `${s.m}×${s.n}×${s.k}`,
    flops: (s) => 2 * s.m * s.n * s.k,
    impls,
  };
}

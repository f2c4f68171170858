// Runs every (size, impl) of a kernel: warm-up, repeats, median. Mechanics only; printing
// lives in report.ts.
import { median } from '../gpu-timer.ts';
import type { BenchContext, BenchKernel, BenchResult } from './types.ts';

export interface RunOptions {
  sizes: string[];
  impls: Set<string>;
  repeats: number;
  warmup: number;
  /** Called after each run (progress bar). */
  tick?: (label: string) => void;
  /** Called when an impl is skipped or fails. */
  skip?: (kernel: string, size: string, impl: string, why: string) => void;
}

export function totalTicks(k: BenchKernel, o: RunOptions): number {
  return o.sizes.length * k.impls.filter((i) => o.impls.has(i.impl)).length * (o.repeats + o.warmup);
}

export async function runKernel(k: BenchKernel, ctx: BenchContext, o: RunOptions): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const size of o.sizes) {
    const shape = k.parseSize(size);
    for (const impl of k.impls) {
      if (!o.impls.has(impl.impl)) continue;
      const why = impl.unsupported?.(shape, ctx);
      if (why) {
        o.skip?.(k.name, size, impl.impl, why);
        for (let i = 0; i < o.repeats + o.warmup; i++) o.tick?.(impl.impl);
        continue;
      }
      let runs;
      try {
        runs = await impl.prepare(shape, ctx);
      } catch (e) {
        o.skip?.(k.name, size, impl.impl, (e as Error).message);
        for (let i = 0; i < o.repeats + o.warmup; i++) o.tick?.(impl.impl);
        continue;
      }
      try {
        for (const r of runs) {
          for (let i = 0; i < o.warmup; i++) {
            await r.run();
            if (r === runs[0]) o.tick?.(impl.impl);
          }
          const times: number[] = [];
          for (let i = 0; i < o.repeats; i++) {
            times.push(await r.run());
            if (r === runs[0]) o.tick?.(impl.impl);
          }
          const ms = median(times);
          results.push({
            kernel: k.name,
            impl: impl.impl,
            dtype: ctx.dtype,
            shape,
            timing: r.timing,
            ms,
            minMs: Math.min(...times),
            gflops: k.flops(shape) / (ms * 1e6),
            repeats: o.repeats,
            ...(r.note ? { note: r.note } : {}),
          });
        }
      } catch (e) {
        o.skip?.(k.name, size, impl.impl, (e as Error).message);
      } finally {
        for (const r of runs) await r.dispose();
      }
    }
  }
  return results;
}

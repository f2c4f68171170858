// The matmul job: generate A and B from the seed, run the tiled kernel on this worker's
// device, and check sampled entries of C against the CPU reference.
import type { MatmulParams } from '../../shared/job-spec.ts';
import type { MatmulResult } from '../../shared/job-view.ts';
import { randomMatrix, seededRandom } from '../../kernels/random.ts';
import { matmulEntry } from '../../kernels/reference.ts';
import type { JobContext } from './job-context.ts';
import { quietly } from '../../kernels/quiet-wait.ts';

const SAMPLES = 64;

export async function runMatmulJob(p: MatmulParams, ctx: JobContext): Promise<MatmulResult> {
  const { m, n, k } = p;
  const { device, matmul } = ctx.gpu;
  // Checks the shape, and tunes its bucket first when the worker attached an autotuner.
  if (matmul.mayTune({ m, n, k }))
    await ctx.progress({
      percent: 0,
      message: 'tuning the kernel for this shape class (once per adapter; later jobs of the class reuse it)',
    });
  await matmul.prepare({ m, n, k });
  const a = randomMatrix(m * k, p.seed);
  const b = randomMatrix(k * n, p.seed + 1);
  const ga = matmul.upload(a);
  const gb = matmul.upload(b);
  const gc = matmul.output(m * n);
  ctx.metrics.transfer('upload', a.byteLength + b.byteLength);
  try {
    const times: number[] = [];
    for (let r = 0; r < p.repeats; r++) {
      ctx.signal.throwIfAborted();
      const t0 = performance.now();
      const enc = device.createCommandEncoder();
      matmul.encode(enc, { m, n, k }, { a: ga, b: gb, c: gc });
      device.queue.submit([enc.finish()]);
      await quietly(device.queue.onSubmittedWorkDone());
      const s = (performance.now() - t0) / 1000;
      times.push(s);
      ctx.metrics.kernel('matmul', 'f32', s, 2 * m * n * k);
      await ctx.progress({ percent: Math.round(((r + 1) / p.repeats) * 90), message: `repeat ${r + 1}/${p.repeats}` });
    }
    await ctx.progress({ percent: 95, message: 'checking against the CPU reference' });
    const c = await matmul.read(gc, m * n);
    ctx.metrics.transfer('download', c.byteLength);
    times.sort((x, y) => x - y);
    const median = times[Math.floor(times.length / 2)];
    let checksum = 0;
    for (let i = 0; i < c.length; i++) checksum += c[i];
    // Sampled check: full reference would cost O(m·n·k) on the CPU.
    const rnd = seededRandom(p.seed ^ 0x5eed);
    const tolerance = 1e-5 + k * 1e-6;
    let maxAbsError = 0;
    const samples = Math.min(SAMPLES, m * n);
    for (let s = 0; s < samples; s++) {
      const idx = samples === m * n ? s : Math.floor(rnd() * m * n);
      const i = Math.floor(idx / n);
      const j = idx % n;
      maxAbsError = Math.max(maxAbsError, Math.abs(c[idx] - matmulEntry(a, b, k, n, i, j)));
    }
    const output = p.saveOutput
      ? await ctx.artifacts.put(
          {
            tenant: ctx.tenant,
            job: ctx.jobId,
            name: `C-${m}x${n}.f32`,
            contentType: 'application/octet-stream',
            kind: 'output',
            info: { shape: [m, n], dtype: 'f32', layout: 'row-major little-endian' },
          },
          new Uint8Array(c.buffer, c.byteOffset, c.byteLength),
        )
      : null;
    return {
      adapter: ctx.gpu.label,
      m,
      n,
      k,
      ms: median * 1000,
      gflops: (2 * m * n * k) / median / 1e9,
      checksum,
      check: { samples, maxAbsError, tolerance, passed: maxAbsError <= tolerance },
      ...(output
        ? { output: { artifact: output.id, bytes: output.bytes, format: 'f32 row-major little-endian' } }
        : {}),
    };
  } finally {
    ga.destroy();
    gb.destroy();
    gc.destroy();
  }
}

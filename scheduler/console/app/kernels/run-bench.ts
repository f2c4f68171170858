// usine's matmul and attention benchmark on the visitor's own GPU (navigator.gpu): the same
// kernels and runner as `npm run bench`, from kernels/browser.ts, after a check against the CPU.
import {
  Attention,
  GpuTimer,
  Matmul,
  adapterInfoOf,
  attentionBenchKernel,
  attentionRef,
  isSoftwareAdapter,
  matmulBenchKernel,
  matmulRef,
  matmulTolerance,
  randomMatrix,
  roundToHalf,
  runKernel,
  totalTicks,
  usineAttentionImpl,
  usineMatmulImpl,
  type AttentionShape,
  type BenchContext,
  type BenchDtype,
  type BenchKernel,
  type Timing,
} from '../../../../kernels/browser.ts';

export interface BrowserBenchSizes {
  /** `N` or `MxNxK`, as `npm run bench` takes them. */
  matmul: string[];
  /** `HxSxD` …, trailing `c` for causal, as `npm run bench -- --kernel attention` takes them. */
  attention: string[];
}

/** Small enough for a laptop's integrated GPU and for a software adapter to finish in a minute. */
export const DEFAULT_SIZES: BrowserBenchSizes = {
  matmul: ['128', '256', '512'],
  attention: ['4x256x64', '4x256x64c'],
};

export type BenchKernelName = 'matmul' | 'attention';

/** One measured figure: median over the repeats of one pass on inputs already on the GPU. */
export interface BenchPoint {
  kernel: BenchKernelName;
  dtype: BenchDtype;
  size: string;
  gflops: number;
  ms: number;
  timing: Timing;
}

/** The comparison of a small case with the f64 CPU reference. */
export interface BenchCheck {
  kernel: BenchKernelName;
  dtype: BenchDtype;
  case: string;
  maxError: number;
  tolerance: number;
  passed: boolean;
}

export interface BenchProgress {
  done: number;
  total: number;
  /** What runs now, e.g. "matmul f32 256". */
  label: string;
}

export interface BrowserBenchResult {
  adapter: { vendor: string; architecture: string; device: string; description: string; software: boolean };
  points: BenchPoint[];
  checks: BenchCheck[];
  /** Cases that could not run here, with why (e.g. "matmul f16: no shader-f16 on this adapter"). */
  skipped: string[];
}

export interface BrowserBenchOptions {
  device: GPUDevice;
  sizes?: Partial<BrowserBenchSizes>;
  onProgress?: (p: BenchProgress) => void;
  repeats?: number;
  warmup?: number;
}

/** The features the benchmark uses when the adapter has them. */
export const WANTED_FEATURES: GPUFeatureName[] = ['shader-f16'];

export async function runBrowserBench(o: BrowserBenchOptions): Promise<BrowserBenchResult> {
  const { device } = o;
  const sizes = { ...DEFAULT_SIZES, ...o.sizes };
  const repeats = o.repeats ?? 3;
  const warmup = o.warmup ?? 1;
  const info = adapterInfoOf(device);
  const software = isSoftwareAdapter(info);
  // Matmul's software defaults were tuned on Mesa's lavapipe. On Chromium's SwiftShader (a
  // software adapter too) the lavapipe default, 'direct' 8×1, did not finish a 45×38×71 matmul
  // in 80 s, while the hardware default ran in about 3 s (shader compile included).
  const lavapipe = /llvmpipe|lavapipe/i.test(Object.values(info).join(' '));
  const dtypes: BenchDtype[] = device.features.has('shader-f16') ? ['f32', 'f16'] : ['f32'];
  const skipped = dtypes.includes('f16') ? [] : ['f16: the adapter has no shader-f16'];
  // Wall time around submit and onSubmittedWorkDone: browsers round GPU timestamps to 100 µs,
  // which would read a small matmul on a real GPU as 0 ms.
  const timer = new GpuTimer(device, false);
  const runs: { kernel: BenchKernel; dtype: BenchDtype; sizes: string[] }[] = [];
  for (const dtype of dtypes) {
    runs.push({ kernel: matmulBenchKernel([usineMatmulImpl()]) as BenchKernel, dtype, sizes: sizes.matmul });
    runs.push({ kernel: attentionBenchKernel([usineAttentionImpl]) as BenchKernel, dtype, sizes: sizes.attention });
  }
  const usine = new Set(['usine']);
  const total =
    dtypes.length * 2 +
    runs.reduce((n, r) => n + totalTicks(r.kernel, { sizes: r.sizes, impls: usine, repeats, warmup }), 0);
  let done = 0;
  const step = (label: string) => o.onProgress?.({ done: ++done, total, label });
  o.onProgress?.({ done, total, label: 'checking against the CPU reference' });

  const checks: BenchCheck[] = [];
  for (const dtype of dtypes) {
    checks.push(await checkMatmul(new Matmul(device, { software: lavapipe }), dtype));
    step(`matmul ${dtype} check`);
    checks.push(await checkAttention(device, dtype));
    step(`attention ${dtype} check`);
  }

  const points: BenchPoint[] = [];
  try {
    for (const r of runs) {
      const ctx: BenchContext = {
        gpu: { device, info: { software: lavapipe } },
        timer,
        dtype: r.dtype,
        tune: false,
        tuningDir: '',
        warmup,
        repeats,
        log: () => {},
      };
      const name = r.kernel.name as BenchKernelName;
      for (const size of r.sizes) {
        const results = await runKernel(r.kernel, ctx, {
          sizes: [size],
          impls: usine,
          repeats,
          warmup,
          tick: () => step(`${name} ${r.dtype} ${size}`),
          skip: (_k, s, _i, why) => skipped.push(`${name} ${r.dtype} ${s}: ${why}`),
        });
        // The first figure of our impl is the pass alone; the second adds upload and read-back.
        const pass = results.find((x) => x.timing !== 'wall+io');
        if (pass)
          points.push({ kernel: name, dtype: r.dtype, size, gflops: pass.gflops, ms: pass.ms, timing: pass.timing });
      }
    }
  } finally {
    timer.destroy();
  }
  return { adapter: { ...info, software }, points, checks, skipped };
}

function maxAbsError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < want.length; i++) e = Math.max(e, Math.abs(got[i] - want[i]));
  return Number.isNaN(e) ? Infinity : e;
}

/** A size that is no multiple of any tile, so edge handling is checked too. */
async function checkMatmul(mm: Matmul, dtype: BenchDtype): Promise<BenchCheck> {
  const spec = { m: 45, n: 38, k: 71, dtype };
  const a = randomMatrix(spec.m * spec.k, 11);
  const b = randomMatrix(spec.k * spec.n, 12);
  const c = await mm.run(spec, a, b);
  // f16 runs on f16-rounded inputs: compare with the reference of those.
  const ref =
    dtype === 'f16'
      ? matmulRef(roundToHalf(a), roundToHalf(b), spec.m, spec.n, spec.k)
      : matmulRef(a, b, spec.m, spec.n, spec.k);
  let passed = true;
  let worstTol = 0;
  for (let i = 0; i < ref.length; i++) {
    const tol = matmulTolerance(spec, ref[i]);
    worstTol = Math.max(worstTol, tol);
    if (!(Math.abs(c[i] - ref[i]) <= tol)) passed = false;
  }
  return { kernel: 'matmul', dtype, case: '45×38×71', maxError: maxAbsError(c, ref), tolerance: worstTol, passed };
}

async function checkAttention(device: GPUDevice, dtype: BenchDtype): Promise<BenchCheck> {
  const shape: AttentionShape = { batch: 1, heads: 2, seqQ: 33, seqK: 33, headDim: 16 };
  const n = shape.batch * shape.heads * shape.seqQ * shape.headDim;
  const [q, k, v] = [randomMatrix(n, 21), randomMatrix(n, 22), randomMatrix(n, 23)];
  const { out } = await new Attention(device).run(shape, q, k, v, { causal: true, dtype });
  const ref = attentionRef(shape, q, k, v, { causal: true }).out;
  // O is a convex combination of V rows (|v| ≤ 1). The test suite holds lavapipe to 2e-5 in f32;
  // a browser's own shader compiler may use a faster, less exact exp, so this sanity check
  // allows 1e-4 (f16 storage: 4e-3, as in the tests).
  const tolerance = dtype === 'f16' ? 4e-3 : 1e-4;
  const maxError = maxAbsError(out, ref);
  return {
    kernel: 'attention',
    dtype,
    case: '1×2×33×33×16 causal',
    maxError,
    tolerance,
    passed: maxError <= tolerance,
  };
}

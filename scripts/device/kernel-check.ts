// Kernel correctness on whatever adapter this machine has: matmul and fused attention on awkward
// shapes against the f64 CPU references, one line per case, exit 1 on any mismatch. Written for
// the first run on a real GPU (scripts/device/check.sh), where the hardware defaults and tuned
// configs run that lavapipe's test suite never exercises. Uses kernels/ only.
//   node --import tsx scripts/device/kernel-check.ts [--quick] [--json FILE]
import fs from 'node:fs';
import { Command } from 'commander';
import { withUsageErrors } from '../../kernels/cli.ts';
import {
  Attention,
  Matmul,
  TUNING_SPACE,
  adapterLabel,
  attentionRef,
  matmulEntryGeneral,
  matmulTolerance,
  openDevice,
  roundToHalf,
  type AttentionShape,
  type MatmulConfig,
  type MatmulSpec,
} from '../../kernels/index.ts';
import { fitsDevice } from '../../kernels/matmul/matmul-configs.ts';
import { configKey } from '../../kernels/matmul/matmul-program.ts';
import { operandSizes, resolveSpec } from '../../kernels/matmul/matmul-spec.ts';
import { randomMatrix } from '../../kernels/random.ts';

const program = new Command('node --import tsx scripts/device/kernel-check.ts')
  .description(
    "Checks the matmul and attention kernels on this machine's default WebGPU adapter against the f64 CPU " +
      'references on awkward shapes (transposes, batches, bias and activations, ragged sizes, causal masks, ' +
      'f16 where the adapter has shader-f16). Prints one line per case; exits 1 if any case is off.',
  )
  .option('--quick', 'small shapes and head dims only (a CPU adapter such as lavapipe compiles slowly)', false)
  .option('--json <file>', 'also write { adapter, cases: [{ name, ok, maxErr, worst, ms }] } to this file')
  .addHelpText('after', '\nExample:\n  node --import tsx scripts/device/kernel-check.ts --quick');
withUsageErrors(program).parse();
const opts = program.opts<{ quick: boolean; json?: string }>();

interface CaseResult {
  name: string;
  ok: boolean;
  /** Largest |gpu − ref|. */
  maxErr: number;
  /** Largest |gpu − ref| / tolerance: above 1 is a mismatch. */
  worst: number;
  ms: number;
  error?: string;
}

const gpu = await openDevice();
const { device } = gpu;
const hasF16 = device.features.has('shader-f16');
console.log(`adapter: ${adapterLabel(gpu.info)}; features: ${gpu.info.features.join(', ')}`);
const results: CaseResult[] = [];
let seed = 1;

/** Runs one case, catching GPU validation errors and exceptions as failures. */
async function runCase(name: string, body: () => Promise<{ maxErr: number; worst: number }>): Promise<void> {
  const t0 = performance.now();
  let r: CaseResult;
  device.pushErrorScope('validation');
  try {
    const { maxErr, worst } = await body();
    const gpuError = await device.popErrorScope();
    r = { name, ok: !gpuError && worst <= 1, maxErr, worst, ms: 0, ...(gpuError ? { error: gpuError.message } : {}) };
  } catch (e) {
    await device.popErrorScope();
    r = { name, ok: false, maxErr: NaN, worst: NaN, ms: 0, error: (e as Error).message };
  }
  r.ms = Math.round(performance.now() - t0);
  results.push(r);
  const err = Number.isNaN(r.maxErr)
    ? ''
    : ` maxErr ${r.maxErr.toExponential(2)} (${(r.worst * 100).toFixed(0)}% of tol)`;
  console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${name}${err} ${r.ms} ms${r.error ? `: ${r.error}` : ''}`);
}

// Tolerances as in test/kernels/matmul.test.ts: f32 accumulation over k terms errs about
// k·2⁻²³ of the partial sums; f16 adds rounding of the output (relative 2⁻¹¹).
const mm = new Matmul(device);

/** Every entry of C when that is cheap on the CPU, else the corners and 4000 scattered ones. */
async function checkMatmul(spec: MatmulSpec, config?: MatmulConfig): Promise<{ maxErr: number; worst: number }> {
  const r = resolveSpec(spec);
  const sz = operandSizes(r);
  const half = (x: Float32Array) => (r.dtype === 'f16' ? roundToHalf(x) : x);
  const a = half(randomMatrix(sz.a, seed++));
  const b = half(randomMatrix(sz.b, seed++));
  const bias = r.bias ? half(randomMatrix(sz.bias, seed++)) : undefined;
  const c = await mm.run(spec, a, b, bias, { config });
  if (c.length !== sz.c) throw new Error(`C has ${c.length} entries, expected ${sz.c}`);
  const all = sz.c * r.k <= 2e7;
  const picks = all ? sz.c : 4000;
  let maxErr = 0;
  let worst = 0;
  for (let s = 0; s < picks; s++) {
    const idx = all
      ? s
      : s === 0
        ? 0
        : s === 1
          ? sz.c - 1
          : Math.floor((((s * 2654435761) % 2 ** 32) / 2 ** 32) * sz.c);
    const bt = Math.floor(idx / (r.m * r.n));
    const i = Math.floor((idx % (r.m * r.n)) / r.n);
    const ref = matmulEntryGeneral(r, a, b, bias, bt, i, idx % r.n);
    const err = Math.abs(c[idx] - ref);
    if (!Number.isFinite(c[idx])) return { maxErr: Infinity, worst: Infinity };
    maxErr = Math.max(maxErr, err);
    worst = Math.max(worst, err / matmulTolerance(r, ref));
  }
  return { maxErr, worst };
}

function mmName(s: MatmulSpec, config?: MatmulConfig): string {
  const flags = ['transA', 'transB', 'broadcastA', 'broadcastB', 'bias'].filter((f) => s[f as keyof MatmulSpec]);
  if (s.activation) flags.push(s.activation);
  const batch = s.batch ? `${s.batch}×` : '';
  return `matmul ${s.dtype ?? 'f32'} ${batch}${s.m}×${s.n}×${s.k}${flags.length ? ` ${flags.join(',')}` : ''}${config ? ` [${configKey(config)}]` : ''}`;
}

const matmulShapes: MatmulSpec[] = [
  { m: 1, n: 1, k: 1 },
  { m: 17, n: 33, k: 65 },
  { m: 127, n: 1, k: 255 },
  { m: 19, n: 23, k: 37, transA: true },
  { m: 19, n: 23, k: 37, transB: true },
  { m: 19, n: 23, k: 37, transA: true, transB: true },
  { m: 9, n: 13, k: 7, batch: 3, broadcastA: true, transB: true },
  { m: 10, n: 12, k: 8, batch: 4, broadcastB: true, transA: true },
  { m: 33, n: 35, k: 17, bias: true, activation: 'relu' },
  { m: 31, n: 37, k: 23, bias: true, activation: 'gelu' },
  { m: 129, n: 131, k: 133, bias: true },
];
if (!opts.quick) {
  matmulShapes.push(
    { m: 1000, n: 1023, k: 1025, bias: true },
    { m: 2049, n: 1, k: 4097 },
    { m: 3, n: 4097, k: 5, transA: true, transB: true },
    { m: 64, n: 65, k: 66, batch: 33, bias: true, activation: 'gelu' },
    { m: 1024, n: 1024, k: 1024, transB: true },
    { m: 4096, n: 4096, k: 4096 },
  );
}
for (const dtype of hasF16 ? (['f32', 'f16'] as const) : (['f32'] as const)) {
  for (const s of matmulShapes) await runCase(mmName({ ...s, dtype }), () => checkMatmul({ ...s, dtype }));
}
if (!hasF16) console.log('skip f16 cases: this adapter has no shader-f16');

// What --tune may pick: every config of the tuning space that fits this device, on one ragged
// and one aligned shape (a CPU adapter compiles each in seconds: the full run only).
if (!opts.quick) {
  for (const config of TUNING_SPACE.filter((c) => fitsDevice(c, device))) {
    for (const s of [
      { m: 67, n: 131, k: 97, transB: true, bias: true },
      { m: 128, n: 256, k: 64 },
    ] as MatmulSpec[]) {
      await runCase(mmName(s, config), () => checkMatmul(s, config));
    }
  }
}

// Tolerances as in test/kernels/attention.test.ts: O is a convex combination of V rows (|v| ≤ 1).
const ATT_TOL = { f32: { out: 2e-5, lse: 2e-6 }, f16: { out: 4e-3, lse: 4e-3 } };
const att = new Attention(device);

async function checkAttention(
  s: AttentionShape,
  causal: boolean,
  dtype: 'f32' | 'f16',
  qScale: number,
): Promise<{ maxErr: number; worst: number }> {
  const nq = s.batch * s.heads * s.seqQ * s.headDim;
  const nk = s.batch * s.heads * s.seqK * s.headDim;
  const q = randomMatrix(nq, seed++).map((x) => x * qScale);
  const k = randomMatrix(nk, seed++);
  const v = randomMatrix(nk, seed++);
  const got = await att.run(s, q, k, v, { causal, lse: true, dtype });
  // f16: the reference takes the rounded inputs the kernel sees (with scores ~1e3, rounding Q
  // alone moves them by ~0.5, which no tolerance on O could absorb).
  const half = (x: Float32Array) => (dtype === 'f16' ? roundToHalf(x) : x);
  const ref = attentionRef(s, half(q), half(k), half(v), { causal });
  const tol = ATT_TOL[dtype];
  let maxErr = 0;
  let worst = 0;
  for (let i = 0; i < ref.out.length; i++) {
    if (!Number.isFinite(got.out[i])) return { maxErr: Infinity, worst: Infinity };
    const err = Math.abs(got.out[i] - ref.out[i]);
    maxErr = Math.max(maxErr, err);
    worst = Math.max(worst, err / tol.out);
  }
  for (let i = 0; i < ref.lse.length; i++) {
    const g = got.lse![i];
    // A row that sees no key (causal, seqQ > seqK) must say so exactly.
    if (ref.lse[i] === -Infinity) {
      if (g !== -Infinity) return { maxErr, worst: Infinity };
      continue;
    }
    worst = Math.max(worst, Math.abs(g - ref.lse[i]) / Math.max(1, Math.abs(ref.lse[i])) / tol.lse);
  }
  return { maxErr, worst };
}

const attentionShapes: [AttentionShape, number][] = [
  [{ batch: 1, heads: 1, seqQ: 1, seqK: 1, headDim: 8 }, 1],
  [{ batch: 2, heads: 3, seqQ: 7, seqK: 7, headDim: 8 }, 1],
  [{ batch: 1, heads: 1, seqQ: 7, seqK: 1, headDim: 8 }, 1],
  [{ batch: 1, heads: 2, seqQ: 11, seqK: 5, headDim: 6 }, 1],
  [{ batch: 1, heads: 2, seqQ: 33, seqK: 40, headDim: 16 }, 1],
  // Scaled scores up to ~1e3: a softmax without the running max overflows.
  [{ batch: 1, heads: 2, seqQ: 33, seqK: 70, headDim: 16 }, 300],
];
if (!opts.quick) {
  attentionShapes.push(
    [{ batch: 1, heads: 2, seqQ: 65, seqK: 65, headDim: 64 }, 1],
    [{ batch: 1, heads: 1, seqQ: 300, seqK: 300, headDim: 80 }, 1],
    [{ batch: 1, heads: 1, seqQ: 65, seqK: 300, headDim: 128 }, 1],
    [{ batch: 1, heads: 2, seqQ: 300, seqK: 65, headDim: 64 }, 1],
    [{ batch: 1, heads: 1, seqQ: 9, seqK: 13, headDim: 256 }, 1],
    [{ batch: 2, heads: 8, seqQ: 1024, seqK: 1024, headDim: 64 }, 1],
    [{ batch: 1, heads: 4, seqQ: 1000, seqK: 1037, headDim: 128 }, 1],
  );
}
for (const dtype of hasF16 ? (['f32', 'f16'] as const) : (['f32'] as const)) {
  for (const [s, qScale] of attentionShapes) {
    for (const causal of [false, true]) {
      const name = `attention ${dtype} ${s.batch}×${s.heads}×${s.seqQ}×${s.seqK}×${s.headDim}${causal ? ' causal' : ''}${qScale !== 1 ? ` q×${qScale}` : ''}`;
      await runCase(name, () => checkAttention(s, causal, dtype, qScale));
    }
  }
}

gpu.close();
const failed = results.filter((r) => !r.ok);
console.log(
  `${results.length - failed.length}/${results.length} cases ok${failed.length ? `; FAILED: ${failed.map((r) => r.name).join('; ')}` : ''}`,
);
if (opts.json) {
  const { limits: _limits, ...adapter } = gpu.info;
  fs.writeFileSync(opts.json, JSON.stringify({ adapter, quick: opts.quick, cases: results }, null, 2) + '\n');
}
process.exit(failed.length ? 1 : 0);

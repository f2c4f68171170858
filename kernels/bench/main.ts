// `npm run bench -- [--kernel matmul|attention] [--sizes …] [--dtype f32|f16] [--repeats N]
//  [--json FILE] [--tune]`: our kernels against baselines on the same adapter, same run.
import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { withUsageErrors } from '../cli.ts';
import { openDevice } from '../device.ts';
import { GpuTimer } from '../gpu-timer.ts';
import { benchKernel, benchKernelNames, discoverBenchKernels } from './registry.ts';
import { adapterLines, resultTable } from './report.ts';
import { runKernel, totalTicks } from './runner.ts';
import type { BenchContext, BenchDtype, BenchResult } from './types.ts';

await discoverBenchKernels();
const kernels = benchKernelNames();

const program = new Command()
  .name('npm run bench --')
  .description(
    "Times usine's WebGPU kernels and, in the same run on the same adapter, baselines: a naive WGSL kernel, " +
      "ONNX Runtime's WebGPU execution provider (child process) and TF.js's WebGPU backend (child process). " +
      'Prints median time and GFLOP/s per size and our speed-up over each baseline.',
  )
  .addOption(new Option('--kernel <name>', 'kernel to benchmark').choices(kernels).default('matmul'))
  .option(
    '--sizes <list>',
    `comma-separated sizes (per kernel: ${kernels.map((k) => `${k}: ${benchKernel(k)!.sizesHelp}`).join('; ')})`,
  )
  .addOption(new Option('--dtype <type>', 'element type').choices(['f32', 'f16']).default('f32'))
  .option('--repeats <n>', 'timed runs per size and impl (median reported)', (v) => parseInt(v, 10), 5)
  .option('--warmup <n>', 'untimed runs first (compilation, caches)', (v) => parseInt(v, 10), 1)
  .option('--impls <list>', 'implementations to run: usine,naive,ort,tfjs', 'usine,naive,ort,tfjs')
  .option(
    '--json <file>',
    'also write the results as JSON: { adapter, results: [{ kernel, impl, dtype, shape, ms, gflops }] }',
  )
  .option('--tune', 'autotune our kernel for each size first (results saved under --tuning-dir and reused)', false)
  .option('--tuning-dir <dir>', 'where tuning results live', process.env.USINE_TUNING_DIR ?? 'data/tuning')
  .option('--adapter <name>', 'adapter name (substring); default: the first high-performance one')
  .option('--no-progress', 'no progress bar')
  .addHelpText(
    'after',
    `
Examples:
  npm run bench                                  # matmul, default sizes, all baselines
  npm run bench -- --sizes 1024 --repeats 3      # 1024×1024×1024
  npm run bench -- --sizes 512x256x1024,2048 --impls usine,naive --tune
  npm run bench -- --kernel attention --json out.json

Reading the output: "usine ×" is the baseline's median time divided by ours taken the same way
(above 1: we are faster). ORT is timed from host arrays to host arrays (wall+io), TF.js from
its tensors to a host array (wall+read); one of our rows is wall+io, for a like-for-like ratio. GPU timestamps are used for our kernel and the
naive one when the adapter has timestamp-query. On a shared machine, trust ratios over absolutes.`,
  );
withUsageErrors(program).parse();
const o = program.opts<{
  kernel: string;
  sizes?: string;
  dtype: BenchDtype;
  repeats: number;
  warmup: number;
  impls: string;
  json?: string;
  tune: boolean;
  tuningDir: string;
  adapter?: string;
  progress: boolean;
}>();

const kernel = benchKernel(o.kernel)!;
const sizes = o.sizes
  ? o.sizes
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
  : kernel.defaultSizes;
for (const s of sizes) kernel.parseSize(s); // fail early on a bad size
if (!(o.repeats >= 1)) program.error('--repeats must be at least 1');

const gpu = await openDevice({ adapter: o.adapter });
const timer = new GpuTimer(gpu.device);
const out: string[] = [];
const print = (line = '') => {
  out.push(line);
  console.log(line);
};
for (const l of adapterLines(gpu.info)) print(l);
if (o.dtype === 'f16' && !gpu.info.features.includes('shader-f16')) {
  print('this adapter has no shader-f16: f16 cannot run here');
  gpu.close();
  process.exit(1);
}

const bar =
  o.progress && process.stderr.isTTY
    ? new cliProgress.SingleBar(
        { format: ' {bar} {value}/{total} runs · {label}', hideCursor: true, clearOnComplete: true },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
const skipped: string[] = [];
const ctx: BenchContext = {
  gpu,
  timer,
  dtype: o.dtype,
  tune: o.tune,
  tuningDir: path.resolve(o.tuningDir),
  warmup: o.warmup,
  repeats: o.repeats,
  log: (line) => (bar ? bar.update({ label: line }) : console.error(line)),
};
let results: BenchResult[] = [];
try {
  const runOpts = {
    sizes,
    impls: new Set(o.impls.split(',').map((s) => s.trim())),
    repeats: o.repeats,
    warmup: o.warmup,
    tick: (label: string) => bar?.increment({ label }),
    skip: (k: string, size: string, impl: string, why: string) => skipped.push(`${k} ${size} ${impl}: ${why}`),
  };
  bar?.start(totalTicks(kernel, runOpts), 0, { label: 'starting' });
  results = await runKernel(kernel, ctx, runOpts);
} finally {
  bar?.stop();
  timer.destroy();
  gpu.close();
}
for (const l of resultTable(results, (s) => kernel.describe(s as never))) print(l);
if (skipped.length) {
  print();
  print('not measured:');
  for (const s of skipped) print(`  ${s}`);
}
if (o.json) {
  const { limits: _limits, ...adapter } = gpu.info;
  fs.mkdirSync(path.dirname(path.resolve(o.json)), { recursive: true });
  fs.writeFileSync(
    o.json,
    JSON.stringify({ adapter, date: new Date().toISOString(), results, skipped }, null, 2) + '\n',
  );
  print(`\nwrote ${o.json}`);
}
process.exit(0);

// GPU time per training op in one step of a model (timestamp queries), against the step's
// wall time; what is not attributed is the matmul kernel's passes plus dispatch overhead.
//   npx tsx worker/train/profile-step.ts --help
import { Command } from 'commander';
import { integer, withUsageErrors } from '../../kernels/cli.ts';
import { adapterLabel, openDevice } from '../../kernels/device.ts';
import { PassProfiler } from '../../kernels/ops/pass-profiler.ts';
import { seededRandom } from '../../kernels/random.ts';
import { GpuModel } from './gpu-model.ts';
import { parseModelConfig } from '../../shared/train/model-config.ts';
import { initParameters } from '../../shared/train/parameters.ts';
import { SyntheticTask } from '../../shared/train/tasks.ts';

const program = new Command('npx tsx worker/train/profile-step.ts')
  .description(
    'GPU time of each training op in one step of a model on the sort task (timestamp queries), against the ' +
      "step's wall time; what is not attributed is the matmul kernel's passes plus dispatch overhead. " +
      'Needs an adapter with timestamp-query.',
  )
  .option('--d <n>', 'model width (dModel)', integer(1), 64)
  .option('--layers <n>', 'transformer layers', integer(1), 2)
  .option('--heads <n>', 'attention heads', integer(1), 4)
  .option('--ff <n>', 'feed-forward width (dFF)', integer(1), 256)
  .option('--batch <n>', 'examples per step', integer(1), 64)
  .option('--length <n>', 'digits to sort (2 to 32)', integer(2), 8)
  .addHelpText(
    'after',
    `
Example:
  npx tsx worker/train/profile-step.ts --d 128 --layers 4 --batch 16 --length 16`,
  );
withUsageErrors(program).parse();
const a = program.opts<{ d: number; layers: number; heads: number; ff: number; batch: number; length: number }>();
const task = new SyntheticTask({ kind: 'sort', length: Number(a.length) });
const config = parseModelConfig({
  vocabSize: task.vocabSize,
  contextLength: task.seqLen,
  layers: Number(a.layers),
  dModel: Number(a.d),
  heads: Number(a.heads),
  dFF: Number(a.ff),
});
const gpu = await openDevice();
const model = new GpuModel(gpu.device, config, initParameters(config, 1));
const profiler = new PassProfiler(gpu.device);
try {
  const rnd = seededRandom(1);
  for (let s = 1; s <= 2; s++) await model.step(task.batch(rnd, Number(a.batch), 'train'), s, 1e-3); // compile, warm up
  const batch = task.batch(rnd, Number(a.batch), 'train');
  profiler.start();
  const t0 = performance.now();
  await model.step(batch, 3, 1e-3);
  const wall = performance.now() - t0;
  profiler.stop();
  const times = [...(await profiler.read())].sort((x, y) => y[1].ms - x[1].ms);
  const timed = times.reduce((s, [, t]) => s + t.ms, 0);
  console.log(`${adapterLabel(gpu.info)}; model ${JSON.stringify(config)}, batch ${a.batch} × ${task.seqLen} tokens`);
  console.log(
    `step wall time ${wall.toFixed(1)} ms; training ops ${timed.toFixed(1)} ms GPU; not attributed (matmul + overhead) ${(wall - timed).toFixed(1)} ms`,
  );
  for (const [label, t] of times)
    console.log(`${label.padEnd(36)} ${String(t.passes).padStart(4)} passes ${t.ms.toFixed(2).padStart(9)} ms`);
} finally {
  profiler.destroy();
  model.destroy();
  gpu.close();
}

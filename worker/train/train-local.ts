// Trains a model on this machine's GPU without the scheduler, printing the learning curve
// and held-out accuracy: for trying configurations (what the demo should use, how fast a
// step is on this adapter).
//   npx tsx worker/train/train-local.ts --help
import { Command, Option } from 'commander';
import { integer, number, withUsageErrors } from '../../kernels/cli.ts';
import { adapterLabel, openDevice } from '../../kernels/device.ts';
import { SyntheticTask, TASK_KINDS, type TaskKind } from '../../shared/train/tasks.ts';
import { trainSettings } from '../../shared/train/train-spec.ts';
import { train } from './trainer.ts';

const program = new Command('npx tsx worker/train/train-local.ts')
  .description(
    "Trains a transformer on one of usine's synthetic tasks on this machine's GPU, without the scheduler, " +
      'printing the loss every 50 steps, the held-out accuracy at each evaluation and a JSON summary at the end. ' +
      'For trying configurations: what the demo should use, how fast a step is on this adapter.',
  )
  .addOption(new Option('--task <kind>', 'synthetic task').choices(TASK_KINDS).default('sort'))
  .option('--length <n>', 'digits to sort or reverse, or per number to add (2 to 32)', integer(2), 8)
  .option('--steps <n>', 'training steps', integer(1), 2000)
  .option('--batch <n>', 'examples per step', integer(1), 64)
  .option('--layers <n>', 'transformer layers', integer(1), 2)
  .option('--d <n>', 'model width (dModel)', integer(1), 64)
  .option('--heads <n>', 'attention heads', integer(1), 4)
  .option('--ff <n>', 'feed-forward width (dFF)', integer(1), 256)
  .option('--lr <rate>', 'peak learning rate', number, 3e-3)
  .option('--warmup <n>', 'learning-rate warm-up steps', integer(0), 100)
  .option('--eval-every <n>', 'steps between held-out evaluations', integer(1), 200)
  .option('--eval-examples <n>', 'held-out examples per evaluation', integer(1), 512)
  .option('--seed <n>', 'random seed (parameters and data)', integer(), 1)
  .addHelpText(
    'after',
    `
Examples:
  npx tsx worker/train/train-local.ts
  npx tsx worker/train/train-local.ts --task reverse --length 6 --steps 500 --layers 4 --d 128`,
  );
withUsageErrors(program).parse();
const a = program.opts<{
  task: TaskKind;
  length: number;
  steps: number;
  batch: number;
  layers: number;
  d: number;
  heads: number;
  ff: number;
  lr: number;
  warmup: number;
  evalEvery: number;
  evalExamples: number;
  seed: number;
}>();
const task = new SyntheticTask({ kind: a.task as TaskKind, length: Number(a.length) });
const settings = trainSettings.parse({
  model: {
    vocabSize: task.vocabSize,
    contextLength: task.seqLen,
    layers: Number(a.layers),
    dModel: Number(a.d),
    heads: Number(a.heads),
    dFF: Number(a.ff),
  },
  steps: Number(a.steps),
  batchSize: Number(a.batch),
  schedule: { lr: Number(a.lr), warmupSteps: Number(a.warmup) },
  seed: Number(a.seed),
  evalEvery: Number(a.evalEvery),
  evalExamples: Number(a.evalExamples),
});
const gpu = await openDevice();
console.log(
  `${adapterLabel(gpu.info)}; ${a.task}-${a.length}, model ${JSON.stringify(settings.model)}, batch ${settings.batchSize}`,
);
try {
  const r = await train({
    device: gpu.device,
    settings,
    data: task,
    onProgress: (p) => {
      if (p.step % 50 === 0 || p.evaluation) {
        const e = p.evaluation
          ? `  held-out: loss ${p.evaluation.loss.toFixed(4)}, token acc ${(p.evaluation.tokenAccuracy * 100).toFixed(1)}%, exact ${(p.evaluation.exactMatch * 100).toFixed(1)}%`
          : '';
        console.log(
          `step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} |g| ${p.gradNorm.toFixed(3)} lr ${p.lr.toExponential(2)} ${p.tokensPerSecond.toFixed(0)} tok/s${e}`,
        );
      }
    },
  });
  const last = r.evaluations.at(-1)!;
  console.log(
    JSON.stringify({
      task: `${a.task}-${a.length}`,
      steps: r.step,
      seconds: Math.round(r.seconds),
      tokensPerSecond: Math.round(r.tokensPerSecond),
      heldOutExactMatch: last.exactMatch,
    }),
  );
} finally {
  gpu.close();
}

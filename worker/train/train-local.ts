// Trains a model on this machine's GPU without the scheduler, printing the learning curve
// and held-out accuracy: for trying configurations (what the demo should use, how fast a
// step is on this adapter).
//   npx tsx worker/train/train-local.ts [--task sort] [--length 8] [--steps 2000] [--batch 64]
//     [--layers 2] [--d 64] [--heads 4] [--ff 256] [--lr 3e-3] [--warmup 100] [--eval-every 200] [--seed 1]
import { parseArgs } from 'node:util';
import { adapterLabel, openDevice } from '../../kernels/device.ts';
import { SyntheticTask, TASK_KINDS, type TaskKind } from '../../shared/train/tasks.ts';
import { trainSettings } from '../../shared/train/train-spec.ts';
import { train } from './trainer.ts';

const { values: a } = parseArgs({
  options: {
    task: { type: 'string', default: 'sort' },
    length: { type: 'string', default: '8' },
    steps: { type: 'string', default: '2000' },
    batch: { type: 'string', default: '64' },
    layers: { type: 'string', default: '2' },
    d: { type: 'string', default: '64' },
    heads: { type: 'string', default: '4' },
    ff: { type: 'string', default: '256' },
    lr: { type: 'string', default: '3e-3' },
    warmup: { type: 'string', default: '100' },
    'eval-every': { type: 'string', default: '200' },
    'eval-examples': { type: 'string', default: '512' },
    seed: { type: 'string', default: '1' },
  },
});
if (!TASK_KINDS.includes(a.task as TaskKind)) throw new Error(`--task must be one of ${TASK_KINDS.join(', ')}`);
const task = new SyntheticTask({ kind: a.task as TaskKind, length: Number(a.length) });
const settings = trainSettings.parse({
  model: { vocabSize: task.vocabSize, contextLength: task.seqLen, layers: Number(a.layers), dModel: Number(a.d), heads: Number(a.heads), dFF: Number(a.ff) },
  steps: Number(a.steps),
  batchSize: Number(a.batch),
  schedule: { lr: Number(a.lr), warmupSteps: Number(a.warmup) },
  seed: Number(a.seed),
  evalEvery: Number(a['eval-every']),
  evalExamples: Number(a['eval-examples']),
});
const gpu = await openDevice();
console.log(`${adapterLabel(gpu.info)}; ${a.task}-${a.length}, model ${JSON.stringify(settings.model)}, batch ${settings.batchSize}`);
try {
  const r = await train({
    device: gpu.device,
    settings,
    data: task,
    onProgress: (p) => {
      if (p.step % 50 === 0 || p.evaluation) {
        const e = p.evaluation ? `  held-out: loss ${p.evaluation.loss.toFixed(4)}, token acc ${(p.evaluation.tokenAccuracy * 100).toFixed(1)}%, exact ${(p.evaluation.exactMatch * 100).toFixed(1)}%` : '';
        console.log(`step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} |g| ${p.gradNorm.toFixed(3)} lr ${p.lr.toExponential(2)} ${p.tokensPerSecond.toFixed(0)} tok/s${e}`);
      }
    },
  });
  const last = r.evaluations.at(-1)!;
  console.log(JSON.stringify({ task: `${a.task}-${a.length}`, steps: r.step, seconds: Math.round(r.seconds), tokensPerSecond: Math.round(r.tokensPerSecond), heldOutExactMatch: last.exactMatch }));
} finally {
  gpu.close();
}

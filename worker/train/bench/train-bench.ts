// Training and inference throughput of our WGSL transformer against the same model in
// TF.js on its WebGPU backend, measured in the same run on the same adapter, and the
// model-FLOPs utilisation against the matmul kernel's rate measured in this run too.
//   npm run bench:train -- [--steps 5] [--json FILE]
import fs from 'node:fs';
import { Command } from 'commander';
import { integer, withUsageErrors } from '../../../kernels/cli.ts';
import { adapterLabel, openDevice } from '../../../kernels/device.ts';
import { randomMatrix, seededRandom } from '../../../kernels/random.ts';
import { Gemm } from '../gemm.ts';
import { GpuModel } from '../gpu-model.ts';
import { KvDecoder } from '../kv-decoder.ts';
import { parseModelConfig, type ModelConfig } from '../../../shared/train/model-config.ts';
import { initParameters, parameterCount } from '../../../shared/train/parameters.ts';
import { SEP, SyntheticTask } from '../../../shared/train/tasks.ts';
import { TfjsTransformer } from './tfjs-transformer.ts';
import { loadTfjsWebgpu } from './tfjs-webgpu.ts';
import { quietly } from '../../../kernels/quiet-wait.ts';

const program = new Command('npm run bench:train --')
  .description(
    'Training and inference throughput of two small transformers (tiny, small) with our WGSL kernels ' +
      "and with the same model in TF.js's WebGPU backend, on the same adapter in the same run; prints " +
      "tokens/s of each, our speed-up, and the model-FLOPs utilisation against our matmul kernel's rate " +
      'measured in this run too.',
  )
  .option(
    '--steps <n>',
    'timed training steps per size and implementation, after 2 warm-up steps (median reported)',
    integer(1),
    5,
  )
  .option('--json <file>', 'also write the results as JSON: { adapter, matmulGflops, sizes: [...] }')
  .addHelpText(
    'after',
    `
Examples:
  npm run bench:train
  npm run bench:train -- --steps 10 --json train-bench.json`,
  );
withUsageErrors(program).parse();
const a = program.opts<{ steps: number; json?: string }>();
const steps = a.steps;

interface Size {
  name: string;
  length: number;
  batch: number;
  model: Omit<ModelConfig, 'vocabSize' | 'contextLength' | 'lnEps'>;
}
const SIZES: Size[] = [
  { name: 'tiny', length: 8, batch: 32, model: { layers: 2, dModel: 64, heads: 4, dFF: 256 } },
  { name: 'small', length: 16, batch: 16, model: { layers: 4, dModel: 128, heads: 4, dFF: 512 } },
];

/** Training FLOPs per token: 6 per parameter of the matmuls and 12·L·T·d for attention (fwd + bwd). */
function trainFlopsPerToken(c: ModelConfig, T: number): number {
  const matmulParams = c.layers * (4 * c.dModel * c.dModel + 2 * c.dModel * c.dFF) + c.dModel * c.vocabSize;
  return 6 * matmulParams + 6 * c.layers * T * c.dModel; // causal: half of 12·L·T·d
}

async function median(f: () => Promise<number>, n: number): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) xs.push(await f());
  return xs.sort((x, y) => x - y)[Math.floor(n / 2)];
}

const gpu = await openDevice();
const tf = await loadTfjsWebgpu();
const rows: Record<string, unknown>[] = [];
try {
  // Matmul rate of our kernel in this run (the MFU denominator): device-resident operands,
  // as in a training step, 4 products per submit.
  const mm = new Gemm(gpu.device);
  const n = 512;
  const buf = (data: Float32Array) => {
    const b = gpu.device.createBuffer({
      size: data.byteLength,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    gpu.device.queue.writeBuffer(b, 0, data);
    return b;
  };
  const [ma, mb, mc] = [buf(randomMatrix(n * n, 1)), buf(randomMatrix(n * n, 2)), buf(new Float32Array(n * n))];
  const products = async () => {
    const enc = gpu.device.createCommandEncoder();
    for (let r = 0; r < 4; r++) mm.nn(enc, n, n, n, ma, mb, mc);
    gpu.device.queue.submit([enc.finish()]);
    await quietly(gpu.device.queue.onSubmittedWorkDone());
  };
  await products();
  const mmSeconds =
    (await median(async () => {
      const t = performance.now();
      await products();
      return (performance.now() - t) / 1000;
    }, 3)) / 4;
  const matmulFlops = (2 * n ** 3) / mmSeconds;
  console.log(`${adapterLabel(gpu.info)}; matmul ${n}³: ${(matmulFlops / 1e9).toFixed(2)} GFLOP/s (MFU denominator)`);

  for (const s of SIZES) {
    const task = new SyntheticTask({ kind: 'sort', length: s.length });
    const config = parseModelConfig({ ...s.model, vocabSize: task.vocabSize, contextLength: task.seqLen });
    const T = task.seqLen;
    const tokens = s.batch * T;
    const params = initParameters(config, 1);
    const rnd = seededRandom(2);
    const batches = Array.from({ length: steps + 2 }, () => task.batch(rnd, s.batch, 'train'));

    const ours = new GpuModel(gpu.device, config, params);
    const theirs = new TfjsTransformer(tf, config, params);
    try {
      // Same model: the first step's loss (same parameters, same batch) must agree.
      const [l0, l1] = [
        (await ours.gradients(batches[0])).loss,
        await theirs.loss0(batches[0].inputs, batches[0].targets, s.batch, T),
      ];
      if (!(Math.abs(l0 - l1) < 1e-3 * Math.max(1, l0)))
        throw new Error(`${s.name}: our loss ${l0} and TF.js's ${l1} differ: not the same model`);
      // Training: 2 warm-up steps (compilation), then the median step.
      let i = 0;
      for (; i < 2; i++) await ours.step(batches[i], i + 1, 1e-3);
      const oursStep = await median(async () => {
        const t = performance.now();
        await ours.step(batches[i], i + 1, 1e-3);
        i++;
        return (performance.now() - t) / 1000;
      }, steps);
      let j = 0;
      for (; j < 2; j++) await theirs.step(batches[j].inputs, batches[j].targets, s.batch, T);
      const theirStep = await median(async () => {
        const t = performance.now();
        await theirs.step(batches[j].inputs, batches[j].targets, s.batch, T);
        j++;
        return (performance.now() - t) / 1000;
      }, steps);

      // Inference: greedy decoding of the answer for a batch of prompts.
      const prompts = task.distinctExamples(seededRandom(3), s.batch, 'heldOut').map((e) => [...e.prompt, SEP]);
      const newTokens = task.answerLength + 1;
      const decoder = new KvDecoder(ours);
      await decoder.decode(prompts.slice(0, 2), { maxNewTokens: 2 });
      const oursInfer = await median(async () => {
        const t = performance.now();
        await decoder.decode(prompts, { maxNewTokens: newTokens });
        return (performance.now() - t) / 1000;
      }, 3);
      decoder.destroy();
      await theirs.greedy(prompts.slice(0, 2), 2);
      const theirInfer = await median(async () => {
        const t = performance.now();
        await theirs.greedy(prompts, newTokens);
        return (performance.now() - t) / 1000;
      }, 3);

      const flops = trainFlopsPerToken(config, T);
      const row = {
        size: s.name,
        params: parameterCount(config),
        tokensPerStep: tokens,
        trainTokensPerSecond: Math.round(tokens / oursStep),
        tfjsTrainTokensPerSecond: Math.round(tokens / theirStep),
        trainSpeedup: +(theirStep / oursStep).toFixed(2),
        inferTokensPerSecond: Math.round((prompts.length * newTokens) / oursInfer),
        tfjsInferTokensPerSecond: Math.round((prompts.length * newTokens) / theirInfer),
        inferSpeedup: +(theirInfer / oursInfer).toFixed(2),
        trainGflops: +(((tokens / oursStep) * flops) / 1e9).toFixed(3),
        mfu: +(((tokens / oursStep) * flops) / matmulFlops).toFixed(3),
      };
      rows.push(row);
      console.log(
        `${s.name.padEnd(6)} ${String(row.params).padStart(8)} params  train ${row.trainTokensPerSecond} tok/s vs TF.js ${row.tfjsTrainTokensPerSecond} (×${row.trainSpeedup})` +
          `  infer ${row.inferTokensPerSecond} tok/s vs TF.js ${row.tfjsInferTokensPerSecond} (×${row.inferSpeedup})  ${row.trainGflops} GFLOP/s, MFU ${(row.mfu * 100).toFixed(1)}%`,
      );
    } finally {
      ours.destroy();
      theirs.dispose();
    }
  }
  if (a.json)
    fs.writeFileSync(
      a.json,
      JSON.stringify({ adapter: adapterLabel(gpu.info), matmulGflops: matmulFlops / 1e9, sizes: rows }, null, 2),
    );
} finally {
  gpu.close();
}
process.exit(0); // TF.js keeps its own Dawn instance alive

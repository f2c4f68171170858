import { describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint, type CheckpointState } from '../../../shared/train/checkpoint.ts';
import { CharDataset } from '../../../shared/train/char-dataset.ts';
import { SyntheticTask } from '../../../shared/train/tasks.ts';
import { trainSettings } from '../../../shared/train/train-spec.ts';
import { evaluationBatches, train, type Progress } from '../../../worker/train/trainer.ts';
import { GpuModel } from '../../../worker/train/gpu-model.ts';
import { KvDecoder } from '../../../worker/train/kv-decoder.ts';
import { EOS, SEP } from '../../../shared/train/tasks.ts';
import { testDevice } from '../../support/gpu.ts';

const gpu = await testDevice();
const task = new SyntheticTask({ kind: 'reverse', length: 4 });
const settings = trainSettings.parse({
  model: { vocabSize: 13, contextLength: 9, layers: 1, dModel: 16, heads: 2, dFF: 32 },
  steps: 12,
  batchSize: 8,
  schedule: { lr: 3e-3, warmupSteps: 3 },
  seed: 5,
  evalEvery: 6,
  evalExamples: 32,
  checkpointEvery: 6,
});

describe('trainer', () => {
  it('resumed from a checkpoint, it continues the step count and the loss curve exactly', async () => {
    const checkpoints: CheckpointState[] = [];
    const progress: Progress[] = [];
    const straight = await train({
      device: gpu.device,
      settings,
      data: task,
      onCheckpoint: (c) => void checkpoints.push(c),
      onProgress: (p) => void progress.push(p),
    });
    expect(straight.losses).toHaveLength(12);
    expect(checkpoints.map((c) => c.step)).toEqual([6, 12]);
    expect(progress.map((p) => p.step)).toEqual([...Array(12).keys()].map((i) => i + 1));
    expect(straight.evaluations.map((e) => e.step)).toEqual([6, 12]);
    for (const e of straight.evaluations) {
      expect(e.tokenAccuracy).toBeGreaterThanOrEqual(0);
      expect(e.exactMatch).toBeLessThanOrEqual(e.tokenAccuracy);
    }
    expect(progress[11].tokensPerSecond).toBeGreaterThan(0);

    // Through the file format, as a killed worker's successor would read it.
    const at6 = decodeCheckpoint(encodeCheckpoint(checkpoints[0]), settings.model);
    const resumedCheckpoints: CheckpointState[] = [];
    const resumed = await train({
      device: gpu.device,
      settings,
      data: task,
      resume: at6,
      onCheckpoint: (c) => void resumedCheckpoints.push(c),
    });
    expect(resumed.losses).toEqual(straight.losses.slice(6));
    expect(resumedCheckpoints.map((c) => c.step)).toEqual([12]);
    expect(resumedCheckpoints[0].params).toEqual(checkpoints[1].params);
    expect(resumed.evaluations.at(-1)).toEqual(straight.evaluations.at(-1));
  });

  it("inference from the final checkpoint reproduces the training run's held-out exact match", async () => {
    const checkpoints: CheckpointState[] = [];
    const s = trainSettings.parse({
      ...settings,
      model: { ...settings.model, dModel: 32, dFF: 64 },
      steps: 25,
      batchSize: 32,
      evalEvery: 0,
      checkpointEvery: 0,
      schedule: { lr: 1e-2, warmupSteps: 5 },
    });
    const r = await train({
      device: gpu.device,
      settings: s,
      data: task,
      onCheckpoint: (c) => void checkpoints.push(c),
    });
    const ckpt = decodeCheckpoint(encodeCheckpoint(checkpoints[0]));
    const model = new GpuModel(gpu.device, ckpt.config, ckpt.params);
    const decoder = new KvDecoder(model);
    try {
      let exact = 0;
      let total = 0;
      for (const batch of evaluationBatches(task, s)) {
        const T = batch.seqLen;
        const examples = Array.from({ length: batch.batchSize }, (_, b) => {
          const prompt = [...batch.inputs.subarray(b * T, b * T + task.promptLength)];
          return { prompt, answer: task.solve(prompt) };
        });
        const { tokens } = await decoder.decode(
          examples.map((e) => [...e.prompt, SEP]),
          { maxNewTokens: task.answerLength + 1, stopToken: EOS },
        );
        examples.forEach((e, b) => (exact += task.isExact(e, tokens[b]) ? 1 : 0));
        total += examples.length;
      }
      const final = r.evaluations.at(-1)!;
      expect(exact / total).toBe(final.exactMatch);
      // Part-trained (≈ half right on lavapipe), so agreement covers wrong answers too.
      expect(final.exactMatch).toBeGreaterThan(0);
      expect(final.exactMatch).toBeLessThan(1);
    } finally {
      decoder.destroy();
      model.destroy();
    }
  });

  it('learns a character-level text', async () => {
    const text = 'to be or not to be, that is the question. '.repeat(40);
    const data = new CharDataset(text, { seqLen: 16 });
    const s = trainSettings.parse({
      model: { vocabSize: data.vocabSize, contextLength: 16, layers: 1, dModel: 32, heads: 4, dFF: 64 },
      steps: 40,
      batchSize: 16,
      schedule: { lr: 1e-2, warmupSteps: 5 },
      evalExamples: 32,
    });
    const r = await train({ device: gpu.device, settings: s, data });
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y) / xs.length;
    expect(r.losses[0]).toBeGreaterThan(Math.log(data.vocabSize) - 0.5);
    expect(mean(r.losses.slice(-5))).toBeLessThan(0.6 * mean(r.losses.slice(0, 5)));
    // Held-out text is the same phrase: the next character is mostly predictable.
    expect(r.evaluations.at(-1)!.tokenAccuracy).toBeGreaterThan(0.5);
  });

  it('refuses a model too large for the device', async () => {
    const big = trainSettings.parse({ ...settings, model: { ...settings.model, dModel: 1024, heads: 2 } });
    await expect(train({ device: gpu.device, settings: big, data: task })).rejects.toThrow(
      /does not fit this device: head dimension 512/,
    );
  });

  it('refuses data that does not fit the model', async () => {
    const long = new SyntheticTask({ kind: 'sort', length: 8 });
    await expect(train({ device: gpu.device, settings, data: long })).rejects.toThrow(
      /sequences of 17 tokens are longer than the model's context of 9/,
    );
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    ac.abort(new Error('cancelled by the user'));
    await expect(train({ device: gpu.device, settings, data: task, signal: ac.signal })).rejects.toThrow(
      /cancelled by the user/,
    );
  });
});

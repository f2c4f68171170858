import { describe, expect, it } from 'vitest';
import { decodeCheckpoint } from '../../../shared/train/checkpoint.ts';
import { inferJobParams, trainJobParams, trainJobProblems } from '../../../shared/train/job-params.ts';
import { runInference } from '../../../worker/train/infer-run.ts';
import { runTraining } from '../../../worker/train/train-run.ts';
import { MemoryStore } from '../../support/checkpoint.ts';
import { TASK_VOCABULARY } from '../../../shared/train/tasks.ts';
import type { Progress } from '../../../worker/train/trainer.ts';
import { testDevice } from '../../support/gpu.ts';

const gpu = await testDevice();

const params = trainJobParams.parse({
  model: { vocabSize: 13, contextLength: 9, layers: 1, dModel: 32, heads: 2, dFF: 64 },
  data: { source: 'task', task: { kind: 'reverse', length: 4 } },
  steps: 12,
  batchSize: 16,
  schedule: { lr: 1e-2, warmupSteps: 2 },
  seed: 3,
  checkpointEvery: 3,
  evalExamples: 32,
});

describe('train job work', () => {
  it('killed mid-run and re-run, it resumes from the last checkpoint and continues the loss curve', async () => {
    const uninterrupted: Progress[] = [];
    await runTraining({
      device: gpu.device,
      params,
      store: new MemoryStore(),
      onProgress: (p) => void uninterrupted.push(p),
    });

    const store = new MemoryStore();
    const ac = new AbortController();
    const first: Progress[] = [];
    await expect(
      runTraining({
        device: gpu.device,
        params,
        store,
        signal: ac.signal,
        onProgress: (p) => {
          first.push(p);
          if (p.step === 7) ac.abort(new Error('worker died'));
        },
      }),
    ).rejects.toThrow(/worker died/);
    expect(store.saved.map((s) => s.step)).toEqual([3, 6]);

    const second: Progress[] = [];
    const run = await runTraining({ device: gpu.device, params, store, onProgress: (p) => void second.push(p) });
    expect(run.resumedFrom).toBe(6);
    expect(second.map((p) => p.step)).toEqual([7, 8, 9, 10, 11, 12]);
    expect(second.map((p) => p.loss)).toEqual(uninterrupted.slice(6).map((p) => p.loss));
    expect(store.saved.at(-1)).toMatchObject({ step: 12, final: true });

    // Inference from the final checkpoint, with text prompts.
    const bytes = store.saved.at(-1)!.bytes;
    expect(JSON.parse(decodeCheckpoint(bytes).extra!.vocabulary)).toEqual(TASK_VOCABULARY.tokens);
    const infer = inferJobParams.parse({
      checkpoint: { job: 'train-1' },
      prompts: ['1234=', '9070=', '5555='],
      maxNewTokens: 5,
    });
    const out = await runInference({ device: gpu.device, params: infer, checkpoint: bytes });
    expect(out.outputs.map((o) => o.prompt)).toEqual(infer.prompts);
    for (const o of out.outputs) {
      expect(o.text).toMatch(/^[0-9+=.]{1,5}$/);
      expect(TASK_VOCABULARY.decode(o.tokens)).toBe(o.text);
    }
    expect(out.tokensPerSecond).toBeGreaterThan(0);

    await expect(
      runInference({ device: gpu.device, params: { ...infer, prompts: ['12a4='] }, checkpoint: bytes }),
    ).rejects.toThrow(/prompts\[0\]: .*"a" is not a token/);
    await expect(
      runInference({ device: gpu.device, params: { ...infer, maxNewTokens: 6 }, checkpoint: bytes }),
    ).rejects.toThrow(/prompts\[0\] has 5 tokens; with maxNewTokens 6 it exceeds the model's context of 9/);
  });

  it('refuses bad configs with a reason', async () => {
    expect(() => trainJobParams.parse({ ...params, model: { ...params.model, heads: 3 } })).toThrow(
      /must divide dModel/,
    );
    expect(trainJobProblems({ ...params, model: { ...params.model, contextLength: 8 } })).toEqual([
      "the data's sequences of 9 tokens are longer than model.contextLength 8",
    ]);
    expect(trainJobProblems({ ...params, model: { ...params.model, vocabSize: 10 } })).toEqual([
      "model.vocabSize 10 is smaller than the task's vocabulary of 13",
    ]);
    const other = new MemoryStore();
    await runTraining({ device: gpu.device, params: { ...params, steps: 3 }, store: other });
    await expect(
      runTraining({ device: gpu.device, params: { ...params, model: { ...params.model, dFF: 48 } }, store: other }),
    ).rejects.toThrow(/another model shape: dFF 64 \(expected 48\)/);
    await expect(runTraining({ device: gpu.device, params: { ...params, seed: 4 }, store: other })).rejects.toThrow(
      /checkpoint is of another run/,
    );
  });
});

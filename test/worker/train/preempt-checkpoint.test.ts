// A train run preempted mid-run (its signal aborted with the reason `preempted`) saves a
// checkpoint of its last completed step at once, and the next run resumes there with the
// losses of an uninterrupted run; a cancel saves nothing. Real lavapipe, a tiny model.
import { describe, expect, it } from 'vitest';
import { trainJobParams } from '../../../shared/train/job-params.ts';
import { PREEMPTED_REASON } from '../../../shared/queues.ts';
import { runTraining } from '../../../worker/train/train-run.ts';
import { MemoryStore } from '../../support/checkpoint.ts';
import type { Progress } from '../../../worker/train/trainer.ts';
import { testDevice } from '../../support/gpu.ts';

const gpu = await testDevice();

const params = trainJobParams.parse({
  model: { vocabSize: 13, contextLength: 9, layers: 1, dModel: 32, heads: 2, dFF: 64 },
  data: { source: 'task', task: { kind: 'reverse', length: 4 } },
  steps: 10,
  batchSize: 16,
  schedule: { lr: 1e-2, warmupSteps: 2 },
  seed: 5,
  checkpointEvery: 4,
  evalExamples: 16,
});

/** A run whose signal aborts with `reason` once step `at` is done; resolves with the store's saved steps. */
async function stopAt(store: MemoryStore, at: number, reason: string): Promise<number[]> {
  const ac = new AbortController();
  await expect(
    runTraining({
      device: gpu.device,
      params,
      store,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.step === at) ac.abort(reason);
      },
    }),
  ).rejects.toBe(reason);
  return store.saved.map((s) => s.step);
}

describe('a preempted train run', () => {
  it('checkpoints its current step on the way out and resumes there with the same losses', async () => {
    const uninterrupted: Progress[] = [];
    await runTraining({
      device: gpu.device,
      params,
      store: new MemoryStore(),
      onProgress: (p) => void uninterrupted.push(p),
    });

    const store = new MemoryStore();
    // Step 6 is between the checkpoints (every 4): saved at once, not at step 8.
    expect(await stopAt(store, 6, PREEMPTED_REASON)).toEqual([4, 6]);
    expect(store.saved[1].final).toBe(false);

    const second: Progress[] = [];
    let resumed = -1;
    const run = await runTraining({
      device: gpu.device,
      params,
      store,
      onResume: (step) => (resumed = step),
      onProgress: (p) => void second.push(p),
    });
    expect(resumed).toBe(6);
    expect(run.resumedFrom).toBe(6);
    expect(second.map((p) => p.step)).toEqual([7, 8, 9, 10]);
    expect(second.map((p) => p.loss)).toEqual(uninterrupted.slice(6).map((p) => p.loss));
  });

  it('saves nothing more when its step was just saved, nor on a cancel', async () => {
    const justSaved = new MemoryStore();
    expect(await stopAt(justSaved, 4, PREEMPTED_REASON)).toEqual([4]);
    const cancelled = new MemoryStore();
    expect(await stopAt(cancelled, 6, 'cancelled')).toEqual([4]);
  });
});

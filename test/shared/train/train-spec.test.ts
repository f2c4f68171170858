// A train job's params: only the model, the data, steps and batch size are needed; the rest,
// the schedule included, has defaults. A bad value is still refused with its field's path.
import { describe, expect, it } from 'vitest';
import { trainJobParams } from '../../../shared/train/job-params.ts';

const minimal = {
  model: { vocabSize: 13, contextLength: 9, layers: 1, dModel: 16, heads: 2, dFF: 32 },
  data: { source: 'task', task: { kind: 'reverse', length: 4 } },
  steps: 10,
  batchSize: 8,
};

describe('train job params', () => {
  it('fill in the schedule, seed, optimiser and intervals when left out', () => {
    const p = trainJobParams.parse(minimal);
    expect(p.schedule).toEqual({ lr: 3e-3, warmupSteps: 0, minFraction: 0.1 });
    expect(p).toMatchObject({ seed: 1, maxGradNorm: 1, evalEvery: 0, evalExamples: 256, checkpointEvery: 0 });
    // A schedule given in part keeps what it gives.
    expect(trainJobParams.parse({ ...minimal, schedule: { warmupSteps: 5 } }).schedule).toEqual({
      lr: 3e-3,
      warmupSteps: 5,
      minFraction: 0.1,
    });
    // The default is not shared between parses (a caller may change its copy).
    const a = trainJobParams.parse(minimal);
    a.schedule.lr = 1;
    expect(trainJobParams.parse(minimal).schedule.lr).toBe(3e-3);
  });

  it('refuse a bad schedule naming the field', () => {
    for (const [schedule, field] of [
      [{ lr: -1 }, 'schedule.lr'],
      [{ warmupSteps: 1.5 }, 'schedule.warmupSteps'],
      [{ minFraction: 2 }, 'schedule.minFraction'],
      [{ lr: 1e-3, decay: 'linear' }, 'schedule'],
      ['fast', 'schedule'],
    ] as const) {
      const r = trainJobParams.safeParse({ ...minimal, schedule });
      expect(r.success).toBe(false);
      expect(r.error!.issues.map((i) => i.path.join('.'))).toEqual([field]);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { learningRate, lrSchedule } from '../../../shared/train/lr-schedule.ts';

describe('learning-rate schedule', () => {
  const s = lrSchedule.parse({ lr: 1e-3, warmupSteps: 10, minFraction: 0.1 });
  it('warms up linearly, peaks, decays by cosine to the floor', () => {
    expect(learningRate(s, 1, 110)).toBeCloseTo(1e-4, 12);
    expect(learningRate(s, 10, 110)).toBeCloseTo(1e-3, 12);
    expect(learningRate(s, 60, 110)).toBeCloseTo(1e-4 + 0.5 * 9e-4, 12); // half-way
    expect(learningRate(s, 110, 110)).toBeCloseTo(1e-4, 12);
    expect(learningRate(s, 500, 110)).toBeCloseTo(1e-4, 12); // past the end: the floor
    for (let t = 11; t < 110; t++) expect(learningRate(s, t + 1, 110)).toBeLessThanOrEqual(learningRate(s, t, 110));
  });
  it('refuses bad input', () => {
    expect(() => learningRate(s, 0, 10)).toThrow(/step must be a positive integer/);
    expect(() => lrSchedule.parse({ lr: 0 })).toThrow();
  });
});

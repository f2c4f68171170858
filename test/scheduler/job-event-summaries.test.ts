// A worker's job events summed per (tenant, type) before they go to the scheduler.
import { describe, expect, it } from 'vitest';
import { JobEventSummaries } from '../../scheduler/state/job-events.ts';

describe('JobEventSummaries', () => {
  it('sums starts, retries and final outcomes per tenant and type, then starts over', () => {
    const s = new JobEventSummaries();
    const ended = (
      tenant: string,
      type: string,
      outcome: 'succeeded' | 'failed' | 'cancelled' | 'retry',
      runSeconds: number,
    ) => s.add({ kind: 'ended', tenant, type, outcome, runSeconds, flops: 10, joules: runSeconds * 100 });
    s.add({ kind: 'started', tenant: 'a', type: 'matmul', waitSeconds: 0.5 });
    ended('a', 'matmul', 'retry', 1);
    s.add({ kind: 'started', tenant: 'a', type: 'matmul', waitSeconds: 2 });
    ended('a', 'matmul', 'succeeded', 3);
    s.add({ kind: 'started', tenant: 'b', type: 'noop', waitSeconds: 0 });
    ended('b', 'noop', 'cancelled', 0.25);
    s.add({ kind: 'started', tenant: 'b', type: 'matmul', waitSeconds: 1 });
    s.add({ kind: 'started', tenant: 'a', type: 'matmul', waitSeconds: 1 });
    const preempted = (reason: 'fair-share' | 'priority', ranSeconds: number, lostSeconds: number) =>
      s.add({
        kind: 'preempted',
        tenant: 'a',
        type: 'matmul',
        reason,
        ranSeconds,
        lostSeconds,
        joules: ranSeconds * 100,
      });
    preempted('fair-share', 2, 0.5);
    preempted('priority', 1, 1);
    const [a, b, b2] = s.take();
    expect(a).toEqual({
      tenant: 'a',
      type: 'matmul',
      waits: [0.5, 2, 1],
      // A preempted attempt is neither a finished job nor a retry; its device time counts.
      runs: [3],
      finished: { succeeded: 1, failed: 0, cancelled: 0 },
      retries: 1,
      seconds: 7,
      flops: 20,
      joules: 700,
      preemptions: { 'fair-share': 1, priority: 1 },
      preemptedLostSeconds: 1.5,
    });
    expect(b).toMatchObject({
      tenant: 'b',
      type: 'noop',
      waits: [0],
      runs: [0.25],
      finished: { succeeded: 0, failed: 0, cancelled: 1 },
      retries: 0,
      seconds: 0.25,
    });
    expect(b2).toMatchObject({ tenant: 'b', type: 'matmul', waits: [1], runs: [], seconds: 0 });
    expect(s.size).toBe(0);
    expect(s.take()).toEqual([]);
  });
});

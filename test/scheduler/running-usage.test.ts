// The running jobs' accrued usage per tenant, from the live workers' heartbeat records
// (scheduler/state/running-usage.ts). Expectations come from the policy's accrued() formula.
import { describe, expect, it } from 'vitest';
import { accrued, decay } from '../../scheduler/policy/fair-share.ts';
import { runningUsage } from '../../scheduler/state/running-usage.ts';
import type { RunningJob, WorkerRecord } from '../../shared/worker-view.ts';
import { testCaps } from '../support/fixtures.ts';

const HALF = 3600;
const now = Date.UTC(2026, 10, 30, 12);

function job(id: string, tenant: string, ranSeconds: number): RunningJob {
  return {
    id,
    tenant,
    queue: `${tenant}:any`,
    priority: 0,
    preemptible: true,
    startedAt: now - ranSeconds * 1000,
    checkpointAt: null,
  };
}

function worker(id: string, jobs?: RunningJob[]): WorkerRecord {
  return {
    id,
    name: id,
    caps: testCaps,
    adapter: 'test',
    concurrency: 4,
    running: (jobs ?? []).map((j) => j.id),
    jobs,
    startedAt: new Date(now - 86_400_000).toISOString(),
    lastHeartbeat: new Date(now).toISOString(),
  };
}

describe('running usage', () => {
  it("sums each tenant's running jobs' accrued usage across workers", () => {
    const live = [
      worker('w0', [job('1', 'a', 1800), job('2', 'b', 60)]),
      worker('w1', [job('3', 'a', 7200)]),
      worker('w2', []),
    ];
    const u = runningUsage(live, now, HALF);
    expect([...u.keys()].sort()).toEqual(['a', 'b']);
    expect(u.get('a')).toBeCloseTo(accrued(1800, HALF) + accrued(7200, HALF), 9);
    expect(u.get('b')).toBeCloseTo(accrued(60, HALF), 9);
    // Decayed: two hours held weigh less than twice one hour, and less than the raw seconds.
    expect(accrued(7200, HALF)).toBeLessThan(2 * accrued(3600, HALF));
    expect(u.get('b')).toBeLessThan(60);
    expect(u.get('b')).toBeGreaterThan(decay(60, 60, HALF));
  });

  it('counts nothing for workers that list no jobs, or for a start ahead of our clock', () => {
    const u = runningUsage([worker('old'), worker('skewed', [job('1', 'a', -5)])], now, HALF);
    expect(u.get('a')).toBe(0);
    expect(runningUsage([], now, HALF).size).toBe(0);
  });

  it("counts a job's run up to its worker's last heartbeat: what ended since is not counted as running on", () => {
    const w = { ...worker('w', [job('1', 'a', 600)]), lastHeartbeat: new Date(now - 500_000).toISOString() };
    // Started 600 s before now, last seen running 500 s before now: 100 s vouched for.
    expect(runningUsage([w], now, HALF).get('a')).toBeCloseTo(accrued(100, HALF), 9);
    // A heartbeat stamped after `now` (clocks apart) counts up to `now`.
    const ahead = { ...w, lastHeartbeat: new Date(now + 60_000).toISOString() };
    expect(runningUsage([ahead], now, HALF).get('a')).toBeCloseTo(accrued(600, HALF), 9);
  });

  it('grows with the time the job has run, by what the last stretch adds decayed to now', () => {
    // Running on from 30 min to 40 min: the first 30 min decay by 10 min, the last 10 add in full
    // accrual: the same continuity the ledger's end charge keeps.
    const at30 = runningUsage([worker('w', [job('1', 'a', 1800)])], now, HALF).get('a')!;
    const at40 = runningUsage([worker('w', [job('1', 'a', 2400)])], now, HALF).get('a')!;
    expect(at40).toBeCloseTo(decay(at30, 600, HALF) + accrued(600, HALF), 9);
  });
});

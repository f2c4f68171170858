// Preemption end to end on a real cluster (scheduler, one worker of two slots on lavapipe):
// a tenant below its share gets the slot of another tenant's long train job; that job writes
// a checkpoint on the way out, goes back to its queue without using an attempt, and resumes
// from the checkpoint when the slot is free again, its steps continuing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsineClient } from '../../client/client.ts';
import type { JobSpecInput } from '../../shared/job-spec.ts';
import { Cluster, jobUntil } from '../support/cluster.ts';

const cluster = new Cluster({
  port: 8975,
  tenants: [{ name: 'big' }, { name: 'small' }],
  workers: [{ USINE_WORKER_CONCURRENCY: '2' }],
  env: { USINE_PREEMPTION_MIN_RUNTIME_SECONDS: '1', USINE_PREEMPTION_GRACE_SECONDS: '20' },
});
beforeAll(() => cluster.start());
afterAll(() => cluster.stop());
const as = (tenant: string) => new UsineClient({ url: cluster.url, token: Cluster.token(tenant) });

const STEPS = 400;
const train: JobSpecInput = {
  type: 'train',
  params: {
    model: { vocabSize: 13, contextLength: 12, layers: 1, dModel: 32, heads: 2, dFF: 64 },
    data: { source: 'task', task: { kind: 'sort', length: 4 } },
    steps: STEPS,
    batchSize: 8,
    schedule: { lr: 0.003, warmupSteps: 10 },
    seed: 5,
    // No periodic checkpoint: the one it resumes from is the one written on preemption.
    checkpointEvery: 0,
  },
};

describe('preemption', () => {
  it('checkpoints and requeues a long job for a starved tenant, then resumes it where it stopped', async () => {
    const big = as('big');
    // Two slots, both big's: the stability rule lets small take one (with one slot it could not:
    // small would then hold more than big, and the two would swap back and forth).
    const ids = (await big.submitBatch([train, train])).ids;
    for (const j of ids)
      await jobUntil(big, j, (v) => v.state === 'running' && Number(v.progress?.step ?? 0) >= 20, 90_000);

    const small = as('small');
    const quick = await small.submit({ type: 'noop', params: { sleepMs: 300 } });
    const end = Date.now() + 30_000;
    let id = '';
    while (!id && Date.now() < end) {
      const views = await Promise.all(ids.map((j) => big.get(j)));
      id = views.find((v) => (v.preemptions ?? 0) >= 1)?.id ?? '';
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(id, 'one of big’s jobs is preempted').not.toBe('');
    const requeued = await big.get(id);
    expect(requeued.attempts).toBe(0); // a preemption is not a failed attempt
    expect(requeued.lastPreemption).toMatchObject({ worker: 'w0', forTenant: 'small', reason: 'fair-share' });
    expect((await small.wait(quick.id, { timeoutMs: 30_000 })).state).toBe('succeeded');

    const done = await big.wait(id, { timeoutMs: 240_000 });
    expect(done.state).toBe('succeeded');
    const r = done.result as { steps: number; resumedFrom: number; losses: number[] };
    expect(r.resumedFrom).toBeGreaterThanOrEqual(20); // from the checkpoint written on preemption…
    expect(r.steps).toBe(STEPS); // …on to the end, not from step 0
    expect(r.losses).toHaveLength(STEPS - r.resumedFrom);
    expect(done.preemptions).toBe(1);
    const other = await big.wait(
      ids.find((j) => j !== id)!,
      { timeoutMs: 240_000 },
    );
    expect([other.state, other.preemptions]).toEqual(['succeeded', 0]);
    const logs = (await big.logs(id)).logs.join('\n');
    expect(logs).toMatch(/preempted after [\d.]+ s on worker w0 for tenant small/);
    expect(logs).toContain(`resumed from step ${r.resumedFrom}`);

    const metrics = await (await fetch(cluster.metricsUrl)).text();
    expect(metrics).toMatch(/usine_preemptions_total\{tenant="big",reason="fair-share"\} 1/);
  });
});

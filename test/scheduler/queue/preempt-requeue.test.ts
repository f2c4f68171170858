// The worker side of preemption against real Redis: a FairPuller running noop jobs gets a
// request through the ledger (as the scheduler writes it) and carries it out: the job goes
// back to the front of its queue without using an attempt, its view and the job events say
// so, the request is removed, and the freed slot goes to the tenant it was freed for.
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import type { Job } from 'bullmq';
import { connectRedis } from '../../../shared/redis.ts';
import { createLogger } from '../../../shared/logger.ts';
import { jobSpec } from '../../../shared/job-spec.ts';
import type { JobData } from '../../../shared/queues.ts';
import { FairPuller, type Processor } from '../../../scheduler/queue/fair-puller.ts';
import { JobStore } from '../../../scheduler/queue/job-store.ts';
import { TenantQueues } from '../../../scheduler/queue/tenant-queues.ts';
import { Keys } from '../../../scheduler/state/keys.ts';
import { TenantStore, tenantSchema } from '../../../scheduler/state/tenants.ts';
import { PreemptionLedger, type PreemptionRequest } from '../../../scheduler/state/preemptions.ts';
import type { JobEventSummary } from '../../../scheduler/state/job-events.ts';
import { formatJob } from '../../../client/format.ts';
import { testCaps, anyQueue } from '../../support/fixtures.ts';

const url = inject('redisUrl');
const admin = connectRedis(url);
const caps = testCaps;
const queueInfo = anyQueue;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let run = 0;
let pullers: FairPuller[] = [];

afterEach(async () => {
  await Promise.all(pullers.map((p) => p.stop(true)));
  pullers = [];
});
afterAll(() => admin.disconnect());

/** A noop job that sleeps `sleepMs` and stops at an abort, as runNoopJob does; or ignores it. */
const sleeper =
  (starts: string[], opts: { ignoreAbort?: boolean } = {}): Processor =>
  async (job, signal) => {
    starts.push(job.id!);
    const ms = job.data.spec.type === 'noop' ? job.data.spec.params.sleepMs : 0;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, ms);
      if (!opts.ignoreAbort)
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          reject(new Error(String(signal.reason)));
        });
    });
    return { result: null, flops: 0 };
  };

function setup() {
  const prefix = `preempt${process.pid}-${++run}`;
  const keys = new Keys(prefix);
  const queues = new TenantQueues(admin, keys, prefix);
  const store = new JobStore(admin, keys, queues, 3600);
  const ledger = new PreemptionLedger(admin, keys);
  const workerId = `w${run}-id`;
  const submit = async (tenant: string, n: number, sleepMs: number) =>
    store.add(
      Array.from({ length: n }, () => ({
        spec: jobSpec.parse({ type: 'noop', params: { sleepMs } }),
        queue: queueInfo(tenant),
      })),
    );
  const preempted: { job: Job<JobData>; line: string }[] = [];
  const start = async (process: Processor) => {
    const p = new FairPuller({
      redis: connectRedis(url),
      subscriber: connectRedis(url),
      keys,
      prefix,
      workerName: `w${run}`,
      workerId,
      caps,
      concurrency: 1,
      halfLifeSeconds: 3600,
      catchUpSeconds: 60,
      lockMs: 30_000,
      powerWatts: 1,
      log: createLogger('preempt-requeue-test', 'error'),
      process,
      idlePollMs: 60_000,
      onPreempted: (job, last) => preempted.push({ job, line: `${last.worker} ${last.forTenant}` }),
    });
    await p.start();
    pullers.push(p);
    return p;
  };
  const request = (job: string, tenant: string, forTenant: string, over: Partial<PreemptionRequest> = {}) =>
    ledger.request([
      {
        job,
        tenant,
        worker: workerId,
        forTenant,
        reason: 'fair-share',
        requestedAt: Date.now(),
        graceSeconds: 5,
        share: 0.08,
        target: 0.5,
        ...over,
      },
    ]);
  const events = async (): Promise<JobEventSummary[]> =>
    (await admin.xrange(keys.events, '-', '+')).flatMap(([, f]) => JSON.parse(f[1]) as JobEventSummary[]);
  return {
    keys,
    store,
    ledger,
    submit,
    start,
    request,
    events,
    preempted,
    workerId,
    tenants: new TenantStore(admin, keys, []),
  };
}

async function until<T>(what: string, f: () => T | Promise<T>, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`never happened: ${what}`);
    await sleep(10);
  }
}

describe('preemption on the worker', () => {
  it('requeues the job at the front of its queue without using an attempt, once, and says so', async () => {
    const { store, ledger, submit, start, request, events, preempted } = setup();
    const starts: string[] = [];
    const p = await start(sleeper(starts));
    const [victim, ...rest] = await submit('big', 3, 60_000);
    await until('the first job runs', () => starts.length === 1);
    expect(p.runningJobs()).toEqual([
      expect.objectContaining({ id: victim, tenant: 'big', priority: 0, preemptible: true, checkpointAt: null }),
    ]);
    await sleep(300); // some run time to lose
    await submit('small', 1, 60_000);
    await request(victim, 'big', 'small');
    await ledger.resend([victim]); // a repeated message is a no-op

    const view = await until('the job is back in its queue', async () => {
      const v = await store.get(victim);
      return v?.state === 'queued' && v.preemptions ? v : null;
    });
    expect(view.attempts).toBe(0);
    expect(view.preemptions).toBe(1);
    expect(view.lastPreemption).toMatchObject({ worker: `w${run}`, forTenant: 'small', reason: 'fair-share' });
    expect(view.lastPreemption!.ranSeconds).toBeGreaterThanOrEqual(0.3);
    // A noop job keeps no checkpoint: the whole attempt is lost.
    expect(view.lastPreemption!.lostDeviceSeconds).toBe(view.lastPreemption!.ranSeconds);
    // `usine status`:
    expect(formatJob(view)).toMatch(
      new RegExp(
        `\\n  preempted 1× — last: after \\d+ s on worker w${run} for tenant small \\(share 8 % of a 50 % target\\)`,
      ),
    );
    // The request stays until the scheduler sees the job gone from this worker's heartbeat.
    expect(await ledger.get(victim)).not.toBeNull();
    expect(preempted.map((x) => [x.job.id, x.line])).toEqual([[victim, `w${run} small`]]);
    const summary = await until('a preempted event', async () =>
      (await events()).find((s) => s.tenant === 'big' && s.preemptions['fair-share'] > 0),
    );
    expect(summary.preemptions).toEqual({ 'fair-share': 1, priority: 0 });
    expect(summary.preemptedLostSeconds).toBeCloseTo(view.lastPreemption!.lostDeviceSeconds, 1);
    expect(summary.finished).toEqual({ succeeded: 0, failed: 0, cancelled: 0 });
    expect(summary.retries).toBe(0);

    // The slot went to small; big's preempted job is first in its queue again, before its newer jobs.
    await until('small runs', () => starts.length === 2);
    const small = starts[1];
    expect((await store.get(small))?.tenant).toBe('small');
    const waiting = await until('big waits', async () => {
      const ids = (await store.list([queueInfo('big')], { state: 'queued', limit: 10 })).map((v) => v.id);
      return ids.length === 3 ? ids : null;
    });
    expect(new Set(waiting)).toEqual(new Set([victim, ...rest]));
    // Ended, small's slot takes big's next job: the preempted one, not a newer one.
    expect(await store.cancel(small)).toBeTruthy();
    await until('big runs again', () => starts.length === 3);
    expect(starts[2]).toBe(victim);
    expect(p.runningJobs()[0]).toMatchObject({ id: victim });
  });

  it('gives the freed slot to the tenant it was freed for, not to a third tenant first in fair share', async () => {
    const { store, submit, start, request, tenants } = setup();
    // `third` outweighs everyone: an ordinary round would start its job next.
    await tenants.put(tenantSchema.parse({ name: 'third', weight: 100 }));
    const starts: string[] = [];
    await start(sleeper(starts));
    const [victim] = await submit('big', 1, 60_000);
    await until('big runs', () => starts.length === 1);
    await sleep(300); // some usage for big (a tie in fair share would go by name)
    await submit('third', 3, 60_000);
    const [forSmall] = await submit('small', 1, 60_000);
    await request(victim, 'big', 'small');
    await until('the freed slot is taken', () => starts.length === 2);
    expect(starts[1]).toBe(forSmall);
    // Used up once taken: the next slot is fair share's again (third, by weight), once big's
    // usage is recorded (the worker sends its charges every 25 ms).
    await sleep(200);
    expect(await store.cancel(forSmall)).toBeTruthy();
    await until('the next slot is taken', () => starts.length === 3);
    expect((await store.get(starts[2]))?.tenant).toBe('third');
  });

  it('abandons an attempt that does not stop within its grace, and ignores requests for other workers', async () => {
    const { keys, store, ledger, submit, start, request, workerId } = setup();
    // A request left from before this worker started names it, for a job not running here.
    await request('gone', 'big', 'small');
    const starts: string[] = [];
    const p = await start(sleeper(starts, { ignoreAbort: true }));
    const [victim] = await submit('big', 2, 8000);
    await until('big runs', () => starts.length === 1);
    // Another worker's request (the job's attempt elsewhere, say): nothing happens here.
    await request(victim, 'big', 'small', { worker: `${workerId}-other` });
    await sleep(300);
    expect(p.running()).toEqual([victim]);
    expect((await store.get(victim))?.preemptions).toBe(0);

    const t0 = Date.now();
    await request(victim, 'big', 'small', { graceSeconds: 1 });
    const v = await until('requeued after the grace', async () => {
      const x = await store.get(victim);
      return x?.preemptions ? x : null;
    });
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(900);
    // Long before the stray attempt (8 s) ended on its own.
    expect(waited).toBeLessThan(6000);
    expect(v.attempts).toBe(0);
    expect(await ledger.get(victim)).not.toBeNull(); // the scheduler clears it
    // The slot is free again: small has nothing queued, so big's preempted job runs next,
    // before big's newer one.
    await until('the slot is used again', () => starts.length === 2);
    expect(starts[1]).toBe(victim);
    // The old request, still in the ledger, names this worker: announced again, it must not
    // stop the job's new attempt.
    await admin.publish(keys.preemptChannel, victim);
    await sleep(300);
    expect(p.running()).toEqual([victim]);
    expect((await store.get(victim))?.preemptions).toBe(1);
  });

  it('lets a cancel that comes while a preemption is under way win: the job is cancelled, not requeued', async () => {
    const { store, submit, start, request } = setup();
    const starts: string[] = [];
    await start(sleeper(starts, { ignoreAbort: true }));
    const [victim] = await submit('big', 1, 4000);
    await until('big runs', () => starts.length === 1);
    await request(victim, 'big', 'small', { graceSeconds: 1 });
    await sleep(200);
    await store.cancel(victim);
    const v = await until('the job ends', async () => {
      const x = await store.get(victim);
      return x && x.state !== 'running' && x.state !== 'queued' ? x : null;
    });
    expect([v.state, v.preemptions]).toEqual(['cancelled', 0]);
    expect(v.lastPreemption).toBeNull();
  });
});

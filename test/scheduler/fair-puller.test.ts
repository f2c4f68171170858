// The worker-side dispatch loop in process, against real Redis, with its idle poll set to a
// minute: every start below must come from a wake-up (a submit, a finished job), never from
// the poll, or the test runs into its deadline. This is how lost wake-ups show.
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { connectRedis } from '../../shared/redis.ts';
import { createLogger } from '../../shared/logger.ts';
import { jobSpec } from '../../shared/job-spec.ts';
import { CANCELLED_REASON, queuedSpec } from '../../shared/queues.ts';
import { FairPuller, type Processor } from '../../scheduler/queue/fair-puller.ts';
import { JobStore } from '../../scheduler/queue/job-store.ts';
import { TenantQueues } from '../../scheduler/queue/tenant-queues.ts';
import { Keys } from '../../scheduler/state/keys.ts';
import { TenantStore, tenantSchema } from '../../scheduler/state/tenants.ts';
import { testCaps, anyQueue } from '../support/fixtures.ts';

const url = inject('redisUrl');
const admin = connectRedis(url);
const caps = testCaps;
let run = 0;
const queueInfo = anyQueue;
let pullers: FairPuller[] = [];

function setup() {
  const prefix = `fp${process.pid}-${++run}`;
  const keys = new Keys(prefix);
  const queues = new TenantQueues(admin, keys, prefix);
  const store = new JobStore(admin, keys, queues, 3600);
  const submit = (tenant: string, n = 1, sleepMs = 0) =>
    store.add(
      Array.from({ length: n }, () => ({
        spec: jobSpec.parse({ type: 'noop', params: { sleepMs } }),
        queue: queueInfo(tenant),
      })),
    );
  const start = async (concurrency: number, process: Processor) => {
    const p = new FairPuller({
      redis: connectRedis(url, { enableAutoPipelining: true }),
      subscriber: connectRedis(url),
      keys,
      prefix,
      workerName: `w${run}`,
      workerId: `w${run}-id`,
      caps,
      concurrency,
      halfLifeSeconds: 3600,
      catchUpSeconds: 60,
      lockMs: 30_000,
      powerWatts: 1,
      log: createLogger('fair-puller-test', 'warn'),
      process,
      idlePollMs: 60_000,
    });
    await p.start();
    pullers.push(p);
    return p;
  };
  return { keys, submit, start, queues, tenants: new TenantStore(admin, keys, []) };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterEach(async () => {
  await Promise.all(pullers.map((p) => p.stop(true)));
  pullers = [];
});
afterAll(() => admin.disconnect());

describe('fair puller wake-ups', () => {
  it('starts each job submitted to an idle worker at once, never waiting for the poll', async () => {
    const { submit, start } = setup();
    const started = new Map<string, number>();
    await start(4, async (job) => {
      started.set(job.id!, Date.now());
      return { result: null, flops: 0 };
    });
    for (let i = 0; i < 40; i++) {
      const t0 = Date.now();
      const [id] = await submit('a');
      while (!started.has(id)) {
        expect(Date.now() - t0, `job ${i} started by a wake-up`).toBeLessThan(10_000);
        await sleep(2);
      }
    }
  });

  it('a finished job starts the next queued one without a poll, also once the queues ran dry', async () => {
    const { submit, start } = setup();
    let done = 0;
    await start(1, async (job) => {
      await sleep(job.data.spec.type === 'noop' ? job.data.spec.params.sleepMs : 0);
      done++;
      return { result: null, flops: 0 };
    });
    await submit('a', 5, 30);
    const t0 = Date.now();
    while (done < 5) {
      expect(Date.now() - t0).toBeLessThan(10_000);
      await sleep(5);
    }
    // Drained now; new work must still be picked up at once.
    await submit('a', 3, 0);
    while (done < 8) {
      expect(Date.now() - t0).toBeLessThan(10_000);
      await sleep(5);
    }
  });

  it("keeps serving a tenant's queued work while another tenant only has a retry not yet due", async () => {
    const { submit, start, queues } = setup();
    // b's only job waits in BullMQ's delayed set (as a retry in backoff does): counted as
    // queued, never takeable before the test ends.
    await queues.register(queueInfo('b'));
    await queues
      .queue(queueInfo('b').name)
      .add('noop', { spec: queuedSpec(jobSpec.parse({ type: 'noop', params: {} })), tenant: 'b' }, { delay: 600_000 });
    let done = 0;
    await start(2, async () => {
      await sleep(20);
      done++;
      return { result: null, flops: 0 };
    });
    await submit('a', 30);
    const t0 = Date.now();
    while (done < 30) {
      expect(Date.now() - t0, `a's jobs kept running (${done} done)`).toBeLessThan(10_000);
      await sleep(5);
    }
  });

  it('stops a job whose cancel it heard just before taking it, without running it', async () => {
    const { submit, start, keys } = setup();
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    const ran: string[] = [];
    const p = await start(1, async (job) => {
      ran.push(job.id!);
      if (ran.length === 1) await blocked;
      return { result: null, flops: 0 };
    });
    const [blocker] = await submit('a');
    while (!ran.includes(blocker)) await sleep(5);
    // The slot is busy: the next job waits, and its cancel arrives before the take (as when
    // the API publishes it the moment a worker's take returns the job).
    const [id] = await submit('a');
    expect(p.cancel(id, CANCELLED_REASON)).toBe(false);
    release();
    const store = new JobStore(admin, keys, new TenantQueues(admin, keys, keys.prefix), 3600);
    let state = '';
    for (let i = 0; i < 200 && state !== 'cancelled'; i++) {
      await sleep(20);
      state = (await store.get(id))?.state ?? '';
    }
    expect(state).toBe('cancelled');
    expect(ran).toEqual([blocker]);
  });

  it("starts a tenant's quota-held work as soon as its own running job ends, never over its quota", async () => {
    const { submit, start, tenants } = setup();
    await tenants.put(tenantSchema.parse({ name: 'q', maxRunning: 1 }));
    let running = 0;
    let most = 0;
    let done = 0;
    await start(4, async () => {
      most = Math.max(most, ++running);
      await sleep(50);
      running--;
      done++;
      return { result: null, flops: 0 };
    });
    await submit('q', 4);
    const t0 = Date.now();
    while (done < 4) {
      expect(Date.now() - t0, 'quota-held jobs started without the poll').toBeLessThan(10_000);
      await sleep(5);
    }
    expect(most).toBe(1);
  });
});

// A worker's BullMQ queue workers against real Redis: however many tenant queues a worker takes
// from, they share its one connection (BullMQ gave each two of its own: 2,000 connections per
// worker at 1,000 tenants), and the stalled-job check of a shared-connection queue worker still
// hands a dead worker's job back.
import { afterAll, describe, expect, inject, it } from 'vitest';
import { Worker } from 'bullmq';
import { connectRedis } from '../../../shared/redis.ts';
import { createLogger } from '../../../shared/logger.ts';
import { jobSpec } from '../../../shared/job-spec.ts';
import type { JobData } from '../../../shared/queues.ts';
import { FairPuller } from '../../../scheduler/queue/fair-puller.ts';
import { JobStore } from '../../../scheduler/queue/job-store.ts';
import { QueueWorkerFactory } from '../../../scheduler/queue/queue-workers.ts';
import { TenantQueues } from '../../../scheduler/queue/tenant-queues.ts';
import { Keys } from '../../../scheduler/state/keys.ts';
import { anyQueue, testCaps } from '../../support/fixtures.ts';

const url = inject('redisUrl');
const admin = connectRedis(url);
afterAll(() => admin.disconnect());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Connections Redis holds whose name contains `mark` (ours, or BullMQ's named after our prefix). */
async function connectionsNamed(mark: string): Promise<number> {
  const list = await admin.client('LIST');
  return String(list)
    .split('\n')
    .filter((line) => /name=(\S*)/.exec(line)?.[1].includes(mark)).length;
}

describe('queue workers', () => {
  it('share the worker process’ connection, however many queues it takes from', async () => {
    const prefix = `qw${process.pid}`;
    const keys = new Keys(prefix);
    const queues = new TenantQueues(admin, keys, prefix);
    const store = new JobStore(admin, keys, queues, 3600);
    const spec = jobSpec.parse({ type: 'noop', params: {} });
    const tenants = Array.from({ length: 30 }, (_, i) => `t${i}`);
    await store.add(tenants.map((t) => ({ spec, queue: anyQueue(t) })));
    const mark = `${prefix}-conn`;
    const redis = connectRedis(url, { connectionName: `${mark}-cmd` });
    const subscriber = connectRedis(url, { connectionName: `${mark}-sub` });
    const ran = new Set<string>();
    const puller = new FairPuller({
      redis,
      subscriber,
      keys,
      prefix,
      workerName: mark,
      workerId: `${mark}-id`,
      caps: testCaps,
      concurrency: 8,
      halfLifeSeconds: 3600,
      catchUpSeconds: 60,
      lockMs: 30_000,
      powerWatts: 1,
      log: createLogger('queue-workers-test', 'warn'),
      process: async (job) => {
        ran.add(job.data.tenant);
        return { result: null, flops: 0 };
      },
    });
    await puller.start();
    try {
      for (let i = 0; i < 200 && ran.size < tenants.length; i++) await sleep(50);
      expect(ran.size).toBe(tenants.length);
      // Its commands and its subscriptions: two, not two more per queue it took from.
      expect(await connectionsNamed(mark)).toBe(2);
      expect(await connectionsNamed(prefix)).toBe(2);
    } finally {
      await puller.stop();
      redis.disconnect();
      subscriber.disconnect();
    }
  });

  it("hands a dead worker's running job back through a shared-connection worker's stalled check", async () => {
    const prefix = `qws${process.pid}`;
    const keys = new Keys(prefix);
    const queues = new TenantQueues(admin, keys, prefix);
    const store = new JobStore(admin, keys, queues, 3600);
    const [id] = await store.add([{ spec: jobSpec.parse({ type: 'noop', params: {} }), queue: anyQueue('a') }]);
    const name = anyQueue('a').name;
    // A worker takes the job with a 300 ms lock, then dies without completing it.
    const dead = new Worker<JobData>(name, null, { connection: admin, prefix, autorun: false, lockDuration: 300 });
    const job = await dead.getNextJob('tok', { block: false });
    expect(job?.id).toBe(id);
    await dead.close(true);

    const redis = connectRedis(url);
    const factory = new QueueWorkerFactory({ redis, prefix, workerName: 'checker', lockMs: 300 });
    const checker = factory.create(name, async () => null);
    try {
      const stalled: string[] = [];
      // BullMQ's check marks the running jobs first, and moves those still unlocked at a later check.
      for (let i = 0; i < 40 && !stalled.length; i++) {
        stalled.push(...(await checker.checkStalled()));
        await sleep(100);
      }
      expect(stalled).toEqual([id]);
      expect(await queues.queue(name).getJobState(id)).toBe('waiting');
    } finally {
      await checker.close();
      redis.disconnect();
    }
  });
});

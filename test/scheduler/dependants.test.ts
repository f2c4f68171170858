// Releasing jobs held for a dependency, against real Redis and BullMQ: a released job is
// findable at every moment (never "not found" while it moves from the held set to its
// queue), and a cancel that races the release wins.
import { afterAll, describe, expect, inject, it } from 'vitest';
import { Worker } from 'bullmq';
import { connectRedis } from '../../shared/redis.ts';
import { jobSpec, requirements } from '../../shared/job-spec.ts';
import { JobStore } from '../../scheduler/queue/job-store.ts';
import { TenantQueues, queueName, type QueueInfo } from '../../scheduler/queue/tenant-queues.ts';
import { Keys } from '../../scheduler/state/keys.ts';

const redis = connectRedis(inject('redisUrl'));
const readerConn = connectRedis(inject('redisUrl'));
const queue: QueueInfo = {
  name: queueName('a', 'any'),
  tenant: 'a',
  cls: 'any',
  requirements: requirements.parse({}),
  prioritized: false,
};
let run = 0;
const stores: TenantQueues[] = [];
const workers: Worker[] = [];
afterAll(async () => {
  await Promise.all([...stores.map((q) => q.close()), ...workers.map((w) => w.close())]);
  redis.disconnect();
  readerConn.disconnect();
});

function setup() {
  const prefix = `dep${process.pid}-${++run}`;
  const keys = new Keys(prefix);
  const queues = new TenantQueues(redis, keys, prefix);
  stores.push(queues);
  // The poller reads as the API does, on a connection of its own.
  const reader = new JobStore(readerConn, keys, new TenantQueues(readerConn, keys, prefix), 3600);
  return { store: new JobStore(redis, keys, queues, 3600), reader, prefix };
}
const noop = (dependsOn?: string) => ({ spec: jobSpec.parse({ type: 'noop', params: {}, dependsOn }), queue });

describe('releasing dependants', () => {
  it('keeps a released job findable throughout its release', async () => {
    const { store, reader, prefix } = setup();
    const worker = new Worker(queue.name, null, { connection: redis, prefix, autorun: false });
    workers.push(worker);
    for (let round = 0; round < 50; round++) {
      const [dep] = await store.add([noop()]);
      const [held] = await store.add([noop(dep)]);
      expect((await store.get(held))?.waitingFor).toMatch(/waiting for job/);
      // The dependency succeeds, recorded as a worker records it.
      const token = `t${round}`;
      const taken = (await worker.getNextJob(token))!;
      expect(taken.id).toBe(dep);
      await taken.moveToCompleted({}, token, false);
      let missing = 0;
      let polling = true;
      const poll = (async () => {
        while (polling) if (!(await reader.get(held))) missing++;
      })();
      const r = await store.releaseDependants();
      polling = false;
      await poll;
      expect(r.released).toBe(1);
      expect(missing, `round ${round}: the released job was not found ${missing} times`).toBe(0);
      expect((await store.get(held))?.state).toBe('queued');
      // Out of the way of the next round's dependency (the queue is FIFO).
      const released = (await worker.getNextJob(`r${round}`))!;
      expect(released.id).toBe(held);
      await released.moveToCompleted({}, `r${round}`, false);
    }
  });

  it('a cancel racing the release wins: the job ends cancelled and is not left in its queue', async () => {
    const { store, reader, prefix } = setup();
    const worker = new Worker(queue.name, null, { connection: redis, prefix, autorun: false });
    workers.push(worker);
    for (let round = 0; round < 20; round++) {
      const [dep] = await store.add([noop()]);
      const [held] = await store.add([noop(dep)]);
      const token = `t${round}`;
      await (await worker.getNextJob(token))!.moveToCompleted({}, token, false);
      // The cancel starts a little later each round, to land at different steps of the release.
      await Promise.all([
        store.releaseDependants(),
        new Promise((r) => setTimeout(r, round % 4)).then(() => reader.cancel(held)),
      ]);
      expect((await reader.get(held))?.state, `round ${round}`).toBe('cancelled');
      expect(await worker.getNextJob(`n${round}`), `round ${round}: nothing left to run`).toBeUndefined();
    }
  });
});

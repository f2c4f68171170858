// Queue counts against real Redis and BullMQ: what a dispatch round and the preemption round
// read. Three reads for a FIFO queue, four for a priority queue, and nothing queued is missed:
// a priority queue's job handed back by stalled-job recovery waits in BullMQ's list, not its set.
import { afterAll, expect, inject, it } from 'vitest';
import { connectRedis } from '../../../shared/redis.ts';
import { jobSpec } from '../../../shared/job-spec.ts';
import { JobStore } from '../../../scheduler/queue/job-store.ts';
import { TenantQueues, queueName, type QueueInfo } from '../../../scheduler/queue/tenant-queues.ts';
import { Keys } from '../../../scheduler/state/keys.ts';
import { anyQueue, recordCommands } from '../../support/fixtures.ts';

const redis = connectRedis(inject('redisUrl'));
const prefix = `tq${process.pid}`;
const queues = new TenantQueues(redis, new Keys(prefix), prefix);
afterAll(async () => {
  await queues.close();
  redis.disconnect();
});

it('counts queued and running jobs per queue, a stalled priority job included', async () => {
  const store = new JobStore(redis, new Keys(prefix), queues, 3600);
  const fifo = anyQueue('a');
  const prio: QueueInfo = { ...anyQueue('a'), name: queueName('a', 'any', true), prioritized: true };
  await store.add([0, 1].map(() => ({ spec: jobSpec.parse({ type: 'noop' }), queue: fifo })));
  await store.add([{ spec: jobSpec.parse({ type: 'noop', priority: 5 }), queue: prio }]);
  // Counted on a connection of its own, so that nothing else's commands mix in.
  const counted = connectRedis(inject('redisUrl'));
  await counted.ping(); // connected: its set-up commands are not counted
  const sent = recordCommands(counted);
  const c = await new TenantQueues(counted, new Keys(prefix), prefix).counts([fifo, prio]);
  counted.disconnect();
  expect(c.get(fifo.name)).toEqual({ queued: 2, running: 0, delayed: 0 });
  expect(c.get(prio.name)).toEqual({ queued: 1, running: 0, delayed: 0 });
  expect(sent).toHaveLength(3 + 4);
  // As moveStalledJobsToWait does with a priority job: back in the list of its queue.
  await redis.rpush(`${prefix}:${prio.name}:wait`, 'stalled-job');
  expect((await queues.counts([prio])).get(prio.name)).toEqual({ queued: 2, running: 0, delayed: 0 });
});

it("adds a request's jobs over several tenants' queues in one transaction, in order, by priority", async () => {
  const own = connectRedis(inject('redisUrl'));
  await own.ping();
  const ownQueues = new TenantQueues(own, new Keys(prefix), prefix);
  const store = new JobStore(own, new Keys(prefix), ownQueues, 3600);
  const a = anyQueue('m1');
  const b = anyQueue('m2');
  const prio: QueueInfo = { ...anyQueue('m2'), name: queueName('m2', 'any', true), prioritized: true };
  for (const q of [a, b, prio]) await ownQueues.register(q); // registered before: their writes are not counted
  const sent = recordCommands(own);
  const noop = (priority = 0) => jobSpec.parse({ type: 'noop', priority });
  const ids = await store.add([
    { spec: noop(), queue: a },
    { spec: noop(), queue: b },
    { spec: noop(2), queue: prio },
    { spec: noop(), queue: a },
    { spec: noop(9), queue: prio },
  ]);
  const multis = sent.filter((name) => name === 'multi').length;
  await ownQueues.close();
  own.disconnect();
  expect(multis).toBe(1);
  // FIFO queues keep the request's order; the priority queue serves its highest priority first.
  expect(await redis.lrange(`${prefix}:${a.name}:wait`, 0, -1)).toEqual([ids[3], ids[0]]);
  expect(await redis.lrange(`${prefix}:${b.name}:wait`, 0, -1)).toEqual([ids[1]]);
  const first = (await redis.zrange(`${prefix}:${prio.name}:prioritized`, 0, 0))[0];
  expect(first).toBe(ids[4]);
  const indexed = await queues.active.snapshot();
  for (const q of [a, b, prio]) expect(indexed.get(q.name)?.queued).toBeGreaterThan(0);
});

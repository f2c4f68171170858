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

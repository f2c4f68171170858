// The active-queue index against real Redis and BullMQ: a queue stays indexed while it holds
// anything (queued, running, waiting out a retry), leaves only once empty, a submit racing a
// prune is never lost, the start-up sweep re-indexes old work, an idle puller costs Redis
// one read per poll, and a wake-up for queues a worker cannot serve starts no round there.
import { afterAll, describe, expect, inject, it } from 'vitest';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { connectRedis } from '../../../shared/redis.ts';
import { createLogger } from '../../../shared/logger.ts';
import { jobSpec, requirements } from '../../../shared/job-spec.ts';
import type { JobData } from '../../../shared/queues.ts';
import { FairPuller, type Processor, type PullerOptions } from '../../../scheduler/queue/fair-puller.ts';
import { JobStore } from '../../../scheduler/queue/job-store.ts';
import { TenantQueues, queueName, type QueueInfo } from '../../../scheduler/queue/tenant-queues.ts';
import { Keys } from '../../../scheduler/state/keys.ts';
import { testCaps, anyQueue, recordCommands } from '../../support/fixtures.ts';

const url = inject('redisUrl');
const admin = connectRedis(url);
const racer = connectRedis(url);
afterAll(() => {
  admin.disconnect();
  racer.disconnect();
});
const caps = testCaps;
const queueInfo = anyQueue;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let run = 0;

function setup() {
  const prefix = `aq${process.pid}-${++run}`;
  const keys = new Keys(prefix);
  const queues = new TenantQueues(admin, keys, prefix);
  const store = new JobStore(admin, keys, queues, 3600);
  const submit = (tenant: string, attempts = 1) =>
    store.add([{ spec: jobSpec.parse({ type: 'noop', params: {}, attempts }), queue: queueInfo(tenant) }]);
  const indexed = async (tenant: string) => (await admin.sismember(keys.active, queueInfo(tenant).name)) === 1;
  return { prefix, keys, queues, submit, indexed };
}

/** A connection that records the name of every command it sends. */
function counting(): { redis: Redis; sent: string[] } {
  const redis: Redis = connectRedis(url);
  return { redis, sent: recordCommands(redis) };
}

function puller(keys: Keys, prefix: string, redis: Redis, process: Processor, extra: Partial<PullerOptions> = {}) {
  return new FairPuller({
    redis,
    subscriber: connectRedis(url),
    keys,
    prefix,
    workerName: 'w',
    workerId: 'w-id',
    caps,
    concurrency: 4,
    halfLifeSeconds: 3600,
    catchUpSeconds: 60,
    lockMs: 30_000,
    powerWatts: 1,
    log: createLogger('active-queues-test', 'warn'),
    process,
    idlePollMs: 60_000,
    ...extra,
  });
}

describe('active-queue index', () => {
  it('keeps a queue while it holds a queued, running or retrying job, and drops it once empty', async () => {
    const { prefix, queues, submit, indexed } = setup();
    const name = queueInfo('a').name;
    expect(await indexed('a')).toBe(false);
    const [id] = await submit('a', 2);
    expect(await indexed('a')).toBe(true);
    expect(await queues.active.prune([name])).toBe(0); // queued

    const w = new Worker<JobData>(name, null, { connection: admin, prefix, autorun: false });
    try {
      const job = (await w.getNextJob('tok', { block: false }))!;
      expect(job.id).toBe(id);
      expect(await queues.active.prune([name])).toBe(0); // running
      // A failed attempt with one left goes to `delayed` inside BullMQ's script: still indexed.
      await job.moveToFailed(new Error('boom'), 'tok', false);
      expect(await admin.zcard(`${prefix}:${name}:delayed`)).toBe(1);
      expect(await queues.active.prune([name])).toBe(0); // waiting out its retry
      await job.remove();
      expect(await queues.active.prune([name])).toBe(1);
      expect(await indexed('a')).toBe(false);
    } finally {
      await w.close();
    }
  });

  it("snapshots the indexed queues' counts in one script and drops the empty ones as prune does", async () => {
    const { prefix, queues, submit, indexed } = setup();
    const [a, b, c] = ['a', 'b', 'c'].map((t) => queueInfo(t).name);
    await submit('a');
    await submit('a', 2);
    const [bId] = await submit('b', 2);
    await submit('c');
    const w = new Worker<JobData>(b, null, { connection: admin, prefix, autorun: false });
    try {
      // b: one running; c: emptied behind the index' back; a: two queued.
      const job = (await w.getNextJob('tok', { block: false }))!;
      expect(job.id).toBe(bId);
      await queues.queue(c).obliterate({ force: true });
      const snap = await queues.active.snapshot();
      expect(snap).toEqual(
        new Map([
          [a, { queued: 2, running: 0, delayed: 0 }],
          [b, { queued: 0, running: 1, delayed: 0 }],
        ]),
      );
      expect(await indexed('c')).toBe(false);
      // The same counts as the per-queue reads.
      expect(await queues.counts([queueInfo('a'), queueInfo('b')])).toEqual(snap);
      // A retry waiting out its backoff is queued and delayed, and keeps its queue indexed.
      await job.moveToFailed(new Error('boom'), 'tok', false);
      expect((await queues.active.snapshot()).get(b)).toEqual({ queued: 1, running: 0, delayed: 1 });
      await job.remove();
      expect((await queues.active.snapshot()).has(b)).toBe(false);
      expect(await indexed('b')).toBe(false);
    } finally {
      await w.close();
    }
  });

  it('never loses a submit that races a prune of its queue', async () => {
    const { queues, submit, indexed, prefix } = setup();
    const name = queueInfo('r').name;
    const prunes = new TenantQueues(racer, new Keys(prefix), prefix).active;
    for (let i = 0; i < 150; i++) {
      let adding = true;
      // Prunes back to back on another connection while the submit is under way.
      const pruning = (async () => {
        while (adding) await prunes.prune([name]);
      })();
      const [id] = await submit('r');
      adding = false;
      await pruning;
      expect(await indexed('r'), `submit ${i}`).toBe(true);
      await queues.queue(name).remove(id);
      await queues.active.prune([name]);
      expect(await indexed('r')).toBe(false);
    }
  });

  it('indexes again, at a puller start, the queues that hold work without an entry', async () => {
    const { keys, queues, submit, indexed } = setup();
    await submit('old');
    await queues.register(queueInfo('empty'));
    await admin.del(keys.active); // work from before the index existed
    expect(await queues.active.sweep([queueInfo('old').name, queueInfo('empty').name])).toBe(1);
    expect(await indexed('old')).toBe(true);
    expect(await indexed('empty')).toBe(false);
  });

  it("hands a dead worker's job to another worker (stalled recovery still works with the index)", async () => {
    const { keys, prefix, submit } = setup();
    const started: string[] = [];
    const ra = connectRedis(url);
    const rb = connectRedis(url);
    const a = puller(
      keys,
      prefix,
      ra,
      async (job) => {
        started.push(`a:${job.id}`);
        return new Promise(() => {}); // never ends: its worker dies with it
      },
      { lockMs: 1000, workerId: 'a' },
    );
    await a.start();
    const [id] = await submit('s');
    for (let i = 0; i < 200 && !started.length; i++) await sleep(10);
    expect(started).toEqual([`a:${id}`]);
    await a.stop(true); // its locks are no longer renewed
    const b = puller(
      keys,
      prefix,
      rb,
      async (job) => {
        started.push(`b:${job.id}`);
        return { result: null, flops: 0 };
      },
      { lockMs: 1000, workerId: 'b', idlePollMs: 300 },
    );
    await b.start();
    try {
      for (let i = 0; i < 800 && started.length < 2; i++) await sleep(10);
      // Back in `wait` through BullMQ's stalled check (b's queue worker), taken by b's poll.
      expect(started).toEqual([`a:${id}`, `b:${id}`]);
    } finally {
      await b.stop(true);
      ra.disconnect();
      rb.disconnect();
    }
  });

  it('a wake-up for queues a worker cannot serve starts no round there', async () => {
    const { keys, prefix, queues, submit } = setup();
    const big: QueueInfo = {
      name: queueName('big', 'needs-1gb'),
      tenant: 'big',
      cls: 'needs-1gb',
      requirements: requirements.parse({ minLimits: { maxBufferSize: 1 << 30 } }),
    };
    await queues.register(big);
    const { redis, sent } = counting();
    const started: string[] = [];
    const p = puller(keys, prefix, redis, async (job) => {
      started.push(job.id!);
      return { result: null, flops: 0 };
    });
    await p.start();
    try {
      // A job it can serve: its round reads the tables, which now know the other queue.
      const [id] = await submit('small');
      for (let i = 0; i < 200 && !started.includes(id); i++) await sleep(10);
      expect(started).toEqual([id]);
      await sleep(100);
      const rounds = () => sent.filter((c) => c === 'hgetall').length;
      const before = rounds();
      const store = new JobStore(admin, keys, queues, 3600);
      for (let i = 0; i < 5; i++) await store.add([{ spec: jobSpec.parse({ type: 'noop', params: {} }), queue: big }]);
      await sleep(300);
      expect(rounds() - before).toBe(0);
      // The control: a wake-up for a queue it serves does start one.
      await submit('small');
      await sleep(300);
      expect(rounds() - before).toBeGreaterThan(0);
    } finally {
      await p.stop(true);
      redis.disconnect();
    }
  });

  it('an idle puller with 50 empty queues sends one read per poll', async () => {
    const { keys, prefix, queues } = setup();
    for (let i = 0; i < 50; i++) await queues.register(queueInfo(`idle${i}`));
    const { redis, sent } = counting();
    const p = puller(keys, prefix, redis, async () => ({ result: null, flops: 0 }), { idleEmptyPollMs: 100 });
    await p.start();
    try {
      await sleep(300); // the start-up sweep and the first round
      sent.length = 0;
      await sleep(1000);
      // About ten polls of 100 ms, each one SMEMBERS of the empty index. The only other
      // commands allowed are scripts: the 50 queues' BullMQ stalled-job checks, which run
      // when their workers open (here, at start) and then every lock period (30 s).
      expect(sent.filter((c) => c !== 'smembers' && c !== 'evalsha')).toEqual([]);
      expect(sent.length).toBeGreaterThanOrEqual(5);
      expect(sent.length).toBeLessThanOrEqual(12);
    } finally {
      await p.stop(true);
      redis.disconnect();
    }
  });
});

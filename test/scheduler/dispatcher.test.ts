// The central dispatch round (scheduler/dispatcher.ts) and the workers' side of its grants
// (FairPuller), against real Redis: the round grants live slots in fair-share order, workers
// take jobs by the grants without reading the queues themselves, and plan for themselves
// again when no round writes grants.
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { connectRedis } from '../../shared/redis.ts';
import { createLogger } from '../../shared/logger.ts';
import { jobSpec, requirements } from '../../shared/job-spec.ts';
import { queuedSpec, type JobData } from '../../shared/queues.ts';
import { Dispatcher } from '../../scheduler/dispatcher.ts';
import { FairPuller, type Processor } from '../../scheduler/queue/fair-puller.ts';
import { JobStore } from '../../scheduler/queue/job-store.ts';
import { TenantQueues, queueName, type QueueInfo } from '../../scheduler/queue/tenant-queues.ts';
import { requirementClass } from '../../scheduler/policy/matching.ts';
import { GRANTS_LIVE_MS } from '../../scheduler/state/grants.ts';
import { Keys } from '../../scheduler/state/keys.ts';
import { tenantSchema } from '../../scheduler/state/tenants.ts';
import { UsageLedger } from '../../scheduler/state/usage.ts';
import { WorkerRegistry, type RunningJob } from '../../scheduler/state/workers.ts';
import { anyQueue, recordCommands, testCaps } from '../support/fixtures.ts';

const url = inject('redisUrl');
const admin = connectRedis(url);
const log = createLogger('dispatcher-test', 'warn');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let run = 0;
const closers: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});
afterAll(() => admin.disconnect());

async function setup(tenants: { name: string; weight: number }[], workers: { id: string; concurrency: number }[]) {
  const prefix = `disp${process.pid}-${++run}`;
  const keys = new Keys(prefix);
  const queues = new TenantQueues(admin, keys, prefix);
  const store = new JobStore(admin, keys, queues, 3600);
  await admin.hset(
    keys.tenants,
    Object.fromEntries(tenants.map((t) => [t.name, JSON.stringify(tenantSchema.parse(t))])),
  );
  const registry = new WorkerRegistry(admin, keys, 60_000);
  for (const w of workers) {
    await registry.heartbeat({
      id: w.id,
      name: w.id,
      caps: testCaps,
      adapter: 'test',
      concurrency: w.concurrency,
      running: [],
      startedAt: new Date().toISOString(),
      lastHeartbeat: '',
    });
  }
  const conns: Redis[] = [];
  const conn = () => {
    const c = connectRedis(url);
    conns.push(c);
    return c;
  };
  closers.push(() => conns.forEach((c) => c.disconnect()));
  const dispatcherRedis = conn();
  const dispatcher = new Dispatcher({
    redis: dispatcherRedis,
    subscriber: conn(),
    keys,
    queues: new TenantQueues(conn(), keys, prefix),
    workers: registry,
    halfLifeSeconds: 3600,
    catchUpSeconds: 60,
    log,
  });
  closers.push(() => dispatcher.stop());
  const submit = (queue: QueueInfo, n: number) =>
    store.add(Array.from({ length: n }, () => ({ spec: jobSpec.parse({ type: 'noop', params: {} }), queue })));
  /** Starts a worker's puller; returns its connection (to record its commands). */
  const startPuller = async (
    id: string,
    concurrency: number,
    process: Processor,
    idleEmptyPollMs = 60_000,
    idlePollMs = 60_000,
  ) => {
    const redis = conn();
    const p = new FairPuller({
      redis,
      subscriber: conn(),
      keys,
      prefix,
      workerName: id,
      workerId: id,
      caps: testCaps,
      concurrency,
      halfLifeSeconds: 3600,
      catchUpSeconds: 60,
      lockMs: 30_000,
      powerWatts: 1,
      log,
      // A minute by default: every start must come from the round's news or a finished job.
      idlePollMs,
      idleEmptyPollMs,
      process,
    });
    await p.start();
    closers.push(() => p.stop(true));
    return redis;
  };
  /** Leads, as the lease holder's tick does, and waits for the round to say grants are live. */
  const lead = async () => {
    await dispatcher.tick();
    for (let i = 0; i < 100 && !(await admin.exists(keys.grantsLive)); i++) await sleep(10);
  };
  return { keys, prefix, dispatcher, dispatcherRedis, submit, conn, lead, startPuller };
}

describe('central dispatch round', () => {
  it('grants the live slots of a class in fair-share order, and none where no live worker matches', async () => {
    const { dispatcher, submit } = await setup(
      [
        { name: 'a', weight: 3 },
        { name: 'b', weight: 1 },
      ],
      [
        { id: 'w0', concurrency: 3 },
        { id: 'w1', concurrency: 1 },
      ],
    );
    await submit(anyQueue('a'), 10);
    await submit(anyQueue('b'), 10);
    // A class no live worker serves: its work waits, without grants.
    const mars = requirements.parse({ regions: ['mars'] });
    const cls = requirementClass(mars);
    await submit({ name: queueName('a', cls), tenant: 'a', cls, requirements: mars }, 5);

    const { grants, news } = await dispatcher.round();
    const any = grants.get('any')!;
    // Four slots on live workers: weights 3:1 split them 3:1.
    expect(any).toHaveLength(4);
    expect(any.filter((t) => t === 'a')).toHaveLength(3);
    expect(any.filter((t) => t === 'b')).toHaveLength(1);
    expect(grants.get(cls) ?? []).toHaveLength(0);
    expect(news.alone).toBe(false);

    // Fewer queued jobs than slots: one grant per job.
    const { grants: later } = await (async () => {
      await submit(anyQueue('c'), 1);
      return dispatcher.round();
    })();
    expect(later.get('any')).toHaveLength(4);
    expect(later.get('any')!.filter((t) => t === 'c')).toHaveLength(1);
  });

  it('between ticks re-reads only the queues that moved: those its grants named and those a wake-up named', async () => {
    const { dispatcher, submit, prefix } = await setup(
      [
        { name: 'a', weight: 1 },
        { name: 'b', weight: 1 },
      ],
      [{ id: 'w0', concurrency: 2 }],
    );
    await submit(anyQueue('a'), 2);
    await submit(anyQueue('b'), 2);
    // The whole index: one grant each.
    const first = await dispatcher.round();
    expect([...first.grants.get('any')!].sort()).toEqual(['a', 'b']);
    // A worker takes a's and b's jobs (the grants' queues): the next round re-reads both.
    const take = async (tenant: string) => {
      const w = new Worker<JobData>(anyQueue(tenant).name, null, { connection: admin, prefix, autorun: false });
      await w.getNextJob('tok', { block: false });
      await w.getNextJob('tok2', { block: false });
      await w.close();
    };
    await take('a');
    await take('b');
    // c's work arrives with no wake-up heard (nothing subscribed here): a round between ticks
    // does not see it, and finds a and b drained, so it grants nothing.
    await submit(anyQueue('c'), 1);
    const between = await dispatcher.round(Date.now(), false);
    expect(between.grants.get('any') ?? []).toEqual([]);
    // The tick's round reads the whole index again and finds c.
    const whole = await dispatcher.round();
    expect(whole.grants.get('any')).toEqual(['c']);
  });

  it("serves first a tenant owed slots of a class, whatever it runs in another class's pool", async () => {
    const { dispatcher, submit, prefix } = await setup(
      [
        { name: 'multi', weight: 1 },
        { name: 'local', weight: 1 },
      ],
      [{ id: 'w0', concurrency: 2 }],
    );
    // `multi` runs 3 jobs of another class (their pool: workers in 'mars'), `local` one of 'any'.
    const mars = requirements.parse({ regions: ['mars'] });
    const cls = requirementClass(mars);
    const marsQueue = { name: queueName('multi', cls), tenant: 'multi', cls, requirements: mars };
    await submit(marsQueue, 3);
    await submit(anyQueue('local'), 1);
    const take = async (queue: string, n: number) => {
      const w = new Worker<JobData>(queue, null, { connection: admin, prefix, autorun: false });
      for (let i = 0; i < n; i++) await w.getNextJob(`tok${i}`, { block: false });
      await w.close();
    };
    await take(marsQueue.name, 3);
    await take(anyQueue('local').name, 1);
    await submit(anyQueue('multi'), 3);
    await submit(anyQueue('local'), 3);
    // Two 'any' slots, equal weights: a share of 1 each. `local` holds its own; `multi` holds none
    // of them and is owed one, though its key (4 running in all) is the higher.
    const { grants } = await dispatcher.round();
    expect(grants.get('any')).toEqual(['multi', 'local']);
  });

  it('between ticks reads the usage at most every 250 ms, and then sees what was charged since', async () => {
    const { dispatcher, dispatcherRedis, submit, keys } = await setup(
      [
        { name: 'a', weight: 1 },
        { name: 'b', weight: 1 },
      ],
      [{ id: 'w0', concurrency: 1 }],
    );
    await submit(anyQueue('a'), 3);
    await submit(anyQueue('b'), 3);
    // No usage yet, equal weights: 'a' first, by name.
    expect((await dispatcher.round()).grants.get('any')).toEqual(['a']);
    await new UsageLedger(admin, keys, 3600).chargeMany([
      { tenant: 'a', seconds: 100, decayed: 100, flops: 0, jobs: 1 },
    ]);
    const sent = recordCommands(dispatcherRedis);
    // At once: the round keeps its copy (the usage hash is two fields per tenant, every round read it).
    expect((await dispatcher.round(Date.now(), false)).grants.get('any')).toEqual(['a']);
    expect(sent).not.toContain('hgetall');
    // Past 250 ms: read again, and 'a''s charge puts 'b' first.
    await sleep(260);
    expect((await dispatcher.round(Date.now(), false)).grants.get('any')).toEqual(['b']);
    expect(sent).toContain('hgetall');
  });

  it("counts what running jobs have accrued, per their workers' heartbeats, before their end is charged", async () => {
    const { dispatcher, submit, keys } = await setup(
      [
        { name: 'a', weight: 1 },
        { name: 'b', weight: 1 },
      ],
      [{ id: 'w0', concurrency: 1 }],
    );
    // Equal recorded usage and equal weights: without running usage, 'a' goes first (by name).
    const charge = { seconds: 100, decayed: 100, flops: 0, jobs: 1 };
    await new UsageLedger(admin, keys, 3600).chargeMany([
      { tenant: 'a', ...charge },
      { tenant: 'b', ...charge },
    ]);
    // w0's heartbeat: its slot has run a job of 'a' for 30 minutes (the queues' counts need not know).
    const held: RunningJob = {
      id: 'long',
      tenant: 'a',
      queue: anyQueue('a').name,
      priority: 0,
      preemptible: true,
      startedAt: Date.now() - 1_800_000,
      checkpointAt: null,
    };
    await new WorkerRegistry(admin, keys, 60_000).heartbeat({
      ...{ id: 'w0', name: 'w0', caps: testCaps, adapter: 'test', concurrency: 1, running: ['long'], jobs: [held] },
      ...{ startedAt: new Date().toISOString(), lastHeartbeat: '' },
    });
    await submit(anyQueue('a'), 3);
    await submit(anyQueue('b'), 3);
    const { grants } = await dispatcher.round();
    expect(grants.get('any')).toEqual(['b']);
  });

  it("workers take jobs by the round's grants, never reading the queues themselves, each job once", async () => {
    const workers = [0, 1, 2].map((i) => ({ id: `w${i}`, concurrency: 2 }));
    const { submit, lead, startPuller } = await setup(
      [
        { name: 'a', weight: 1 },
        { name: 'b', weight: 1 },
      ],
      workers,
    );
    await lead();
    const ran = new Map<string, number>();
    const sent: string[][] = [];
    for (const w of workers) {
      const redis = await startPuller(w.id, w.concurrency, async (job) => {
        ran.set(job.id!, (ran.get(job.id!) ?? 0) + 1);
        await sleep(5);
        return { result: null, flops: 0 };
      });
      sent.push(recordCommands(redis));
    }
    // Each round the pullers take from is the one their takes ask for (grants-taken).
    const ids = [...(await submit(anyQueue('a'), 30)), ...(await submit(anyQueue('b'), 30))];
    const deadline = Date.now() + 20_000;
    while (ids.some((id) => !ran.has(id)) && Date.now() < deadline) await sleep(20);
    expect(ids.filter((id) => !ran.has(id))).toEqual([]);
    expect([...ran.values()].every((n) => n === 1)).toBe(true);
    // The queues' counts and the index are the round's reads: no worker sent one.
    const planReads = sent.flat().filter((c) => c === 'llen' || c === 'zcard' || c === 'smembers');
    expect(planReads).toEqual([]);
    expect(sent.flat().filter((c) => c === 'lpop').length).toBeGreaterThan(0);
  });

  it("wakes only the worker that takes a round's grants: the others, waiting on the lists, send nothing", async () => {
    const workers = Array.from({ length: 6 }, (_, i) => ({ id: `w${i}`, concurrency: 2 }));
    const { submit, lead, startPuller } = await setup([{ name: 'a', weight: 1 }], workers);
    await lead();
    const ran: string[] = [];
    const sent: string[][] = [];
    for (const w of workers) {
      const redis = await startPuller(w.id, w.concurrency, async (job) => {
        ran.push(job.id!);
        return { result: null, flops: 0 };
      });
      sent.push(recordCommands(redis));
    }
    // A first job makes the class known to every worker; settled, each found the lists dry and waits on them.
    const [first] = await submit(anyQueue('a'), 1);
    for (let i = 0; i < 200 && !ran.includes(first); i++) await sleep(10);
    await sleep(300);
    ran.length = 0;
    for (const s of sent) s.length = 0;
    const [id] = await submit(anyQueue('a'), 1);
    for (let i = 0; i < 200 && !ran.includes(id); i++) await sleep(10);
    expect(ran).toEqual([id]);
    await sleep(300);
    // One worker got the grant from its wait and looked for more; with a pop on the round's news,
    // all six popped (and every round would make every idle worker pop).
    // (A worker's stalled-job check, once per lock period from a random start, may send other
    // commands meanwhile: BullMQ's INFO, the index, a script.)
    const popped = sent.filter((s) => s.includes('lpop'));
    expect(popped.length).toBeLessThanOrEqual(1);
    const dispatching = sent.filter((s) => s.some((c) => ['exists', 'lpop', 'publish'].includes(c)));
    expect(dispatching.length, JSON.stringify(sent)).toBeLessThanOrEqual(1);
  });

  it('a worker whose device serves no class with work sends nothing while the round runs', async () => {
    const { dispatcher, submit, lead, startPuller } = await setup(
      [{ name: 'a', weight: 1 }],
      [{ id: 'w0', concurrency: 2 }],
    );
    // Work only in a region this worker (testCaps: 'local') is not in.
    const mars = requirements.parse({ regions: ['mars'] });
    const cls = requirementClass(mars);
    await submit({ name: queueName('a', cls), tenant: 'a', cls, requirements: mars }, 3);
    await lead();
    // The leader's tick, as the lease holder drives it: its news says a round runs.
    const ticking = setInterval(() => void dispatcher.tick().catch(() => {}), 1000);
    closers.push(() => clearInterval(ticking));
    // The production poll (1 s): an idle loop that sent a command each time would show.
    const redis = await startPuller('w0', 2, async () => ({ result: null, flops: 0 }), 60_000, 1000);
    await sleep(200);
    const sent = recordCommands(redis);
    // Three seconds of the round's news (one a second): nothing to pop, nothing to wait on. What
    // its dispatch loop would send: the live key, a pop, a "dry" to the round. (Its stalled-job
    // check, once per lock period from a random start, may send others: BullMQ's INFO, a script.)
    await sleep(3000);
    expect(sent.filter((c) => ['exists', 'lpop', 'publish', 'blmpop'].includes(c))).toEqual([]);
  });

  it("grants a retry waiting out its backoff only in the tick's round, and runs it once due", async () => {
    const { keys, prefix, dispatcher, submit, conn, lead, startPuller } = await setup(
      [
        { name: 'a', weight: 1 },
        { name: 'b', weight: 1 },
      ],
      [{ id: 'w0', concurrency: 2 }],
    );
    // b's only job waits in BullMQ's delayed set, due in 1.5 s (as a retry in backoff does).
    const queues = new TenantQueues(conn(), keys, prefix);
    await queues.register(anyQueue('b'));
    const spec = queuedSpec(jobSpec.parse({ type: 'noop', params: {} }));
    await queues.queue(anyQueue('b').name).add('noop', { spec, tenant: 'b' }, { delay: 1500 });
    await queues.active.add([anyQueue('b').name]);
    const { grants } = await dispatcher.round();
    expect(grants.get('any') ?? [], 'an event round grants no delayed job').toEqual([]);
    await lead();
    const ran: string[] = [];
    await startPuller('w0', 2, async (job) => {
      ran.push(job.data.tenant);
      await sleep(20);
      return { result: null, flops: 0 };
    });
    // a's work flows meanwhile, and the tick's rounds (driven here as the leader drives them)
    // grant b's job, whose take promotes it once due.
    await submit(anyQueue('a'), 20);
    const ticking = setInterval(() => void dispatcher.tick().catch(() => {}), 1000);
    closers.push(() => clearInterval(ticking));
    for (let i = 0; i < 250 && !ran.includes('b'); i++) await sleep(20);
    expect(ran.filter((t) => t === 'a').length).toBe(20);
    expect(ran.filter((t) => t === 'b')).toEqual(['b']);
  });

  it('workers plan for themselves again once no round writes grants', async () => {
    const { dispatcher, submit, lead, startPuller } = await setup(
      [{ name: 'a', weight: 1 }],
      [{ id: 'w0', concurrency: 2 }],
    );
    await lead();
    const ran: string[] = [];
    await startPuller(
      'w0',
      2,
      async (job) => {
        ran.push(job.id!);
        return { result: null, flops: 0 };
      },
      500,
    );
    const [first] = await submit(anyQueue('a'), 1);
    for (let i = 0; i < 200 && !ran.includes(first); i++) await sleep(20);
    expect(ran).toContain(first);
    // The scheduler stops: no more news, and once the round is silent for GRANTS_LIVE_MS the
    // worker plans by itself (at its next poll, 0.5 s here), without anyone deleting a key.
    await dispatcher.stop();
    const stopped = Date.now();
    const [second] = await submit(anyQueue('a'), 1);
    for (let i = 0; i < 400 && !ran.includes(second); i++) await sleep(20);
    expect(ran).toContain(second);
    // Silent counts from the round's last news, which an idle round sends once a second: at
    // most a second before the stop.
    expect(Date.now() - stopped).toBeGreaterThanOrEqual(GRANTS_LIVE_MS - 1000);
  });
});

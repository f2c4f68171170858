// The preemption round and the lease it runs under, against real Redis: the round reads
// live workers' heartbeats and the queues, writes requests once, re-sends them while their
// job runs, drops them once it has left; the lease has one holder at a time.
import { afterAll, describe, expect, inject, it } from 'vitest';
import { connectRedis } from '../../shared/redis.ts';
import { createLogger } from '../../shared/logger.ts';
import { jobSpec, requirements } from '../../shared/job-spec.ts';
import { JobStore } from '../../scheduler/queue/job-store.ts';
import { TenantQueues, queueName, type QueueInfo } from '../../scheduler/queue/tenant-queues.ts';
import { Keys } from '../../scheduler/state/keys.ts';
import { Lease } from '../../scheduler/state/lease.ts';
import { PreemptionLedger } from '../../scheduler/state/preemptions.ts';
import { TenantStore, tenantSchema } from '../../scheduler/state/tenants.ts';
import { UsageLedger } from '../../scheduler/state/usage.ts';
import { WorkerRegistry, type RunningJob } from '../../scheduler/state/workers.ts';
import { SchedulerMetrics } from '../../scheduler/metrics.ts';
import { Preemptor, type PreemptorSettings } from '../../scheduler/preemptor.ts';
import { Admission } from '../../scheduler/admission.ts';
import { ArtifactStore } from '../../shared/artifact-store.ts';
import os from 'node:os';
import path from 'node:path';

const redis = connectRedis(inject('redisUrl'));
const sub = connectRedis(inject('redisUrl'));
const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of closers) await c();
  redis.disconnect();
  sub.disconnect();
});
let run = 0;
const caps = {
  vendor: 'mesa',
  architecture: '',
  device: 'lavapipe',
  backend: 'vulkan',
  features: [],
  limits: {},
  region: 'local',
};
const queue = (tenant: string): QueueInfo => ({
  name: queueName(tenant, 'any'),
  tenant,
  cls: 'any',
  requirements: requirements.parse({}),
  prioritized: false,
});

async function setup(settings: PreemptorSettings = { enabled: true, minRuntimeSeconds: 10, graceSeconds: 7 }) {
  const prefix = `pre${process.pid}-${++run}`;
  const keys = new Keys(prefix);
  const queues = new TenantQueues(redis, keys, prefix);
  closers.push(() => queues.close());
  const tenants = new TenantStore(redis, keys);
  await tenants.seed(['big', 'small'].map((name) => tenantSchema.parse({ name })));
  const workers = new WorkerRegistry(redis, keys, 60_000);
  const ledger = new PreemptionLedger(redis, keys);
  const metrics = new SchedulerMetrics(['big', 'small']);
  const store = new JobStore(redis, keys, queues, 3600);
  const admission = new Admission(
    queues,
    workers,
    [],
    store,
    new ArtifactStore(path.join(os.tmpdir(), `usine-preemptor-test-${process.pid}`)),
    ledger,
  );
  const deps = {
    redis,
    keys,
    queues,
    tenants,
    workers,
    usage: new UsageLedger(redis, keys, 3600),
    ledger,
    metrics,
    log: createLogger('test', 'silent'),
    settings,
  };
  const preemptor = new Preemptor(deps);
  /** The same round as a scheduler restarted (or another replica) would run it. */
  const restarted = () => new Preemptor(deps);
  return { keys, store, workers, ledger, metrics, preemptor, admission, tenants, restarted };
}

const running = (tenant: string, i: number, startedAt: number): RunningJob => ({
  id: `${tenant}.any.${i}`,
  tenant,
  queue: queueName(tenant, 'any'),
  priority: 0,
  preemptible: true,
  startedAt,
  checkpointAt: null,
});

async function beat(workers: WorkerRegistry, id: string, jobs: RunningJob[]) {
  await workers.heartbeat({
    id,
    name: id,
    caps,
    adapter: 'lavapipe',
    concurrency: 2,
    running: jobs.map((j) => j.id),
    jobs,
    startedAt: new Date().toISOString(),
    lastHeartbeat: '',
  });
}

describe('preemption round', () => {
  it('requests preemptions for a starved tenant once, re-sends them, and drops them when the job has left', async () => {
    const { keys, store, workers, ledger, metrics, preemptor, admission, tenants, restarted } = await setup();
    const now = Date.now();
    const jobs = [0, 1, 2, 3].map((i) => running('big', i, now - 60_000 + i));
    await beat(workers, 'w1', jobs.slice(0, 2));
    await beat(workers, 'w2', jobs.slice(2));
    const messages: string[] = [];
    await sub.subscribe(keys.preemptChannel);
    sub.on('message', (ch: string, m: string) => ch === keys.preemptChannel && messages.push(m));

    // No queued work: nothing to do.
    expect(await preemptor.round(now)).toEqual([]);
    await store.add([0, 1, 2].map(() => ({ spec: jobSpec.parse({ type: 'noop' }), queue: queue('small') })));
    const decided = await preemptor.round(now);
    expect(decided.map((d) => [d.victim.tenant, d.forTenant])).toEqual([
      ['big', 'small'],
      ['big', 'small'],
    ]);
    // The youngest first (no checkpoints: the least work to lose).
    expect(decided.map((d) => d.victim.job).sort()).toEqual(['big.any.2', 'big.any.3']);
    const pending = await ledger.all();
    expect(pending.map((r) => r.job).sort()).toEqual(['big.any.2', 'big.any.3']);
    expect(pending[0]).toMatchObject({ forTenant: 'small', graceSeconds: 7, reason: 'fair-share', target: 0.5 });

    // The next round counts them as in progress: no more decisions, nothing sent again yet…
    expect(await preemptor.round(now + 1000)).toEqual([]);
    await new Promise((r) => setTimeout(r, 100));
    expect(messages.sort()).toEqual(['big.any.2', 'big.any.3']);
    // …but sent again when still running 5 s later.
    await preemptor.round(now + 6500);
    await new Promise((r) => setTimeout(r, 100));
    expect(messages).toHaveLength(4);
    expect((await metrics.registry.getSingleMetric('usine_preemptions_in_progress')!.get()).values[0].value).toBe(2);

    // The starved tenant's queued job says why it waits.
    const why = await admission.whyWaiting(queue('small'), await tenants.get('small'));
    expect(why).toMatch(/a slot is being freed for tenant small: job big\.any\.[23] of tenant big is being preempted/);
    // A scheduler restarted (or the replica taking the lease over) sends the pending requests
    // again at once, and decides nothing twice.
    const before = messages.length;
    expect(await restarted().round(now + 7000)).toEqual([]);
    await new Promise((r) => setTimeout(r, 100));
    expect(messages.length).toBe(before + 2);
    expect((await ledger.all()).length).toBe(2);

    // The victims leave their slots: the requests are dropped.
    await beat(workers, 'w2', []);
    await preemptor.round(now + 10_000);
    expect(await ledger.all()).toEqual([]);
    await sub.unsubscribe();
  });

  it('does nothing before the minimum run time, or when switched off', async () => {
    const young = await setup();
    const now = Date.now();
    await beat(young.workers, 'w1', [running('big', 0, now - 5000), running('big', 1, now - 5000)]);
    await young.store.add([{ spec: jobSpec.parse({ type: 'noop' }), queue: queue('small') }]);
    expect(await young.preemptor.round(now)).toEqual([]);
    expect(await young.preemptor.round(now + 6000)).toHaveLength(1);

    const off = await setup({ enabled: false, minRuntimeSeconds: 0, graceSeconds: 1 });
    await beat(off.workers, 'w1', [running('big', 0, now - 5000), running('big', 1, now - 5000)]);
    await off.store.add([{ spec: jobSpec.parse({ type: 'noop' }), queue: queue('small') }]);
    expect(await off.preemptor.round(now)).toEqual([]);
  });

  it('honours a job that opted out', async () => {
    const { store, workers, preemptor } = await setup();
    const now = Date.now();
    const jobs = [running('big', 0, now - 60_000), running('big', 1, now - 60_000)];
    jobs[1].preemptible = false;
    await beat(workers, 'w1', jobs);
    await store.add([{ spec: jobSpec.parse({ type: 'noop' }), queue: queue('small') }]);
    expect((await preemptor.round(now)).map((d) => d.victim.job)).toEqual(['big.any.0']);
  });

  it("takes rule 7's run time from its settings: a swap that only rounds shares waits for it", async () => {
    // 8 slots, weights 38 and 42: shares 3.8 and 4.2. big holds 5, small 3 with work queued: only
    // a rounding swap (half a slot on each side) would move a slot, and its jobs ran 10 minutes.
    const rounding = async (roundingMinRuntimeSeconds?: number) => {
      const settings = { enabled: true, minRuntimeSeconds: 10, graceSeconds: 7, roundingMinRuntimeSeconds };
      const { store, workers, preemptor, tenants } = await setup(settings);
      await tenants.put(tenantSchema.parse({ name: 'big', weight: 42 }));
      await tenants.put(tenantSchema.parse({ name: 'small', weight: 38 }));
      const now = Date.now();
      const jobs = [
        ...[0, 1, 2, 3, 4].map((i) => running('big', i, now - 600_000)),
        ...[0, 1, 2].map((i) => running('small', i, now - 600_000)),
      ];
      for (let w = 0; w < 4; w++) await beat(workers, `w${w}`, jobs.slice(2 * w, 2 * w + 2));
      await store.add([0, 1].map(() => ({ spec: jobSpec.parse({ type: 'noop' }), queue: queue('small') })));
      return (await preemptor.round(now)).map((d) => [d.victim.tenant, d.forTenant]);
    };
    // The default (30 min): not yet. Five minutes (USINE_PREEMPTION_ROUNDING_RUNTIME_SECONDS=300): now.
    expect(await rounding()).toEqual([]);
    expect(await rounding(300)).toEqual([['big', 'small']]);
  });
});

describe('lease', () => {
  it('has one holder at a time, a new epoch per holding, and passes on release or expiry', async () => {
    const key = `lease${process.pid}:${++run}`;
    const a = new Lease(redis, key, 'a', 300);
    const b = new Lease(redis, key, 'b', 300);
    expect(await a.acquire()).toBe(true);
    const first = a.epoch!;
    expect(await b.acquire()).toBe(false);
    expect(await a.acquire()).toBe(true); // renewal keeps the epoch
    expect(a.epoch).toBe(first);
    await a.release();
    expect(await b.acquire()).toBe(true);
    expect(b.epoch).toBe(first + 1);
    await b.release(); // a release by a non-holder is a no-op
    expect(await a.acquire()).toBe(true);
    expect(await b.acquire()).toBe(false);
    await new Promise((r) => setTimeout(r, 400)); // a's holding expires unrenewed
    expect(await b.acquire()).toBe(true);
    expect(b.epoch).toBe(first + 3);
    await new Lease(redis, key, 'a', 300).release(); // not a's any more: stays b's
    expect(await b.current()).toBe(`b|${first + 3}`);
  });
});

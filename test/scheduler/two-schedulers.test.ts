// Two scheduler replicas on one Redis behind one address (a round-robin proxy), a worker, a
// flood of noop jobs with dependants, and the replica holding the dispatch lease SIGKILLed in
// the middle: every acknowledged job succeeds once, no dependant is released twice, the lease
// moves to the survivor; and the per-tenant rate limit holds across both replicas.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { Redis } from 'ioredis';
import { Cluster } from '../support/cluster.ts';
import { UsineClient } from '../../client/client.ts';
import { connectRedis } from '../../shared/redis.ts';
import { readChaosCounts } from '../../scripts/chaos/counters.ts';
import { roundRobin, type RoundRobin } from '../../scripts/chaos/proxy.ts';

const PORT = 8630; // scheduler 0; worker 8631; scheduler 1 8632; proxy 8633
const LIMIT = 10;

let cluster: Cluster;
let proxy: RoundRobin;
let redis: Redis;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function metric(url: string, name: string): Promise<string | null> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
  return line ?? null;
}
const leads = async (url: string) => (await metric(url, 'usine_dispatch_leader'))?.endsWith(' 1') ?? false;

/** Retries what failed for the network (a request cut by the kill): the caller counts only what was answered. */
async function retry<T>(f: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await f();
    } catch (e) {
      const status = (e as { status?: number }).status;
      if (i >= 20 || (status !== 0 && status !== undefined && status < 500)) throw e;
      await sleep(100);
    }
  }
}

beforeAll(async () => {
  cluster = await new Cluster({
    port: PORT,
    schedulers: 2,
    tenants: [
      { name: 'a', maxRunning: 100 },
      { name: 'limited', rateLimitPerMinute: LIMIT },
    ],
    workers: [{ USINE_WORKER_CONCURRENCY: '8' }],
    env: { USINE_CHAOS_COUNTERS: 'on', USINE_WORKER_TIMEOUT_SECONDS: '5' },
  }).start();
  proxy = await roundRobin(
    PORT + 3,
    [0, 1].map((i) => ({ host: '127.0.0.1', port: +new URL(cluster.schedulerUrl(i)).port })),
  );
  redis = connectRedis(inject('redisUrl'));
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  redis?.disconnect();
  await cluster?.stop();
});

describe('two schedulers on one Redis', () => {
  it('lose nothing, run nothing twice and release no dependant twice when the lease holder is killed', async () => {
    const urls = [cluster.schedulerUrl(0), cluster.schedulerUrl(1)];
    let leader = -1;
    for (let i = 0; i < 50 && leader < 0; i++) {
      for (const k of [0, 1]) if (await leads(urls[k])) leader = k;
      if (leader < 0) await sleep(200);
    }
    expect(leader).toBeGreaterThanOrEqual(0);
    const survivor = 1 - leader;
    // Gauges of global state come from the lease holder only, so sum() over replicas is right.
    await sleep(2500);
    expect(await metric(urls[leader], 'usine_tenant_jobs')).not.toBeNull();
    expect(await metric(urls[survivor], 'usine_tenant_jobs')).toBeNull();

    // The killed replica's output too, for its count of releases.
    const replicas = cluster.schedulers.filter((c) => c !== null);
    const client = new UsineClient({ url: proxy.url, token: Cluster.token('a') });
    const acked: string[] = [];
    const dependants: string[] = [];
    let killedAt = 0;
    for (let round = 0; round < 16; round++) {
      // 20 quick jobs and a gate that runs 1.5 s: the gate's two dependants are held until it succeeds.
      const batch = [
        ...Array.from({ length: 20 }, () => ({ type: 'noop' as const, params: { sleepMs: 5 } })),
        { type: 'noop' as const, params: { sleepMs: 1500 } },
      ];
      const ids = await retry(() => client.submitBatch(batch)).then(
        (r) => r.ids,
        () => [],
      );
      acked.push(...ids);
      if (ids.length) {
        const deps = [0, 1].map(() => ({ type: 'noop' as const, params: { sleepMs: 0 }, dependsOn: ids.at(-1) }));
        const dids = await retry(() => client.submitBatch(deps)).then(
          (r) => r.ids,
          () => [],
        );
        acked.push(...dids);
        dependants.push(...dids);
      }
      if (round === 6) {
        killedAt = Date.now();
        await cluster.stopScheduler(leader, 'SIGKILL');
      }
    }
    expect(acked.length).toBeGreaterThan(300);

    // The lease moves to the survivor within its expiry and a round.
    let tookOver = 0;
    while (!tookOver && Date.now() - killedAt < 10_000) {
      if (await leads(urls[survivor])) tookOver = Date.now();
      else await sleep(100);
    }
    expect(tookOver).toBeGreaterThan(0);
    expect(tookOver - killedAt).toBeLessThan(6500);

    // Every acknowledged job completes, exactly once (counted by the worker as BullMQ accepted it).
    const prefix = cluster.env.USINE_QUEUE_PREFIX;
    const end = Date.now() + 60_000;
    let counts = await readChaosCounts(redis, prefix);
    while (Date.now() < end) {
      counts = await readChaosCounts(redis, prefix);
      if (acked.every((id) => counts.completions[id])) break;
      await sleep(250);
    }
    expect(acked.filter((id) => !counts.completions[id])).toEqual([]);
    expect(acked.filter((id) => counts.completions[id] !== 1)).toEqual([]);
    expect(acked.filter((id) => counts.executions[id] !== 1)).toEqual([]);
    for (const id of dependants) expect((await retry(() => client.get(id))).state).toBe('succeeded');

    // Released once: the replicas' own counts of releases add up to at most one per dependant.
    const released = replicas
      .map((c) => c.output())
      .join('\n')
      .split('\n')
      .filter((l) => l.includes('dependants released or failed'))
      .reduce((s, l) => s + (JSON.parse(l) as { released: number }).released, 0);
    expect(released).toBeLessThanOrEqual(dependants.length);
    // Most were held and released here (their gate ran 1.5 s), so the release path did run; not
    // all: on a loaded machine a submit retried around the kill can come after its gate ended
    // (then it is queued at once), and a release under way when its replica died is not logged.
    expect(released).toBeGreaterThanOrEqual(dependants.length / 2);
    expect(await metric(urls[survivor], 'usine_tenant_jobs')).not.toBeNull();
  }, 120_000);

  it('hold a tenant to its rate limit over both replicas together', async () => {
    // Not across a minute's edge, where the window starts over.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 55_000) await sleep(60_500 - intoMinute);
    const urls = [cluster.schedulerUrl(0), cluster.schedulerUrl(1)].filter((_, i) => cluster.schedulers[i]);
    // The killed replica is back, so both count.
    if (urls.length < 2) {
      await cluster.startScheduler(cluster.schedulers[0] ? 1 : 0);
      urls.splice(0, urls.length, cluster.schedulerUrl(0), cluster.schedulerUrl(1));
    }
    const answers: { status: number; retryAfter: string | null; body: { error?: { code: string } } }[] = [];
    for (let i = 0; i < LIMIT + 2; i++) {
      const r = await fetch(`${urls[i % 2]}/v1/jobs`, {
        headers: { authorization: `Bearer ${Cluster.token('limited')}` },
      });
      answers.push({
        status: r.status,
        retryAfter: r.headers.get('retry-after'),
        body: (await r.json()) as { error?: { code: string } },
      });
    }
    expect(answers.slice(0, LIMIT).map((a) => a.status)).toEqual(Array(LIMIT).fill(200));
    for (const a of answers.slice(LIMIT)) {
      expect(a.status).toBe(429);
      expect(a.body.error?.code).toBe('rate_limited');
      expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(a.retryAfter)).toBeLessThanOrEqual(60);
    }
    // Another tenant is not held back by it.
    const other = await fetch(`${urls[0]}/v1/jobs`, { headers: { authorization: `Bearer ${Cluster.token('a')}` } });
    expect(other.status).toBe(200);
  }, 60_000);
});

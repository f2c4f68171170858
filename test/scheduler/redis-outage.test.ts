// Degrade, don't hang: while Redis is frozen (SIGSTOP) or gone (SIGKILL), the scheduler answers
// every request within 1 s — 503 redis_unavailable with Retry-After where Redis is needed, /livez
// 200, /readyz 503, usine_redis_up 0 — and serves again when Redis is back, without a restart.
// It also starts, and stops on SIGTERM, while Redis is down. A Redis of this file's own.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureRedis, type LocalRedis } from '../../shared/redis-server.ts';
import { redisAnswers } from '../../shared/redis.ts';
import { startTs, type Child } from '../support/processes.ts';

const API_PORT = 8960;
const API_PORT_COLD = 8961; // the scheduler started while Redis is down
const REDIS_PORT = 8969;
const REDIS_PORT_COLD = 8968;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usine-redis-outage-'));
const children: Child[] = [];
const redises: LocalRedis[] = [];

afterAll(async () => {
  for (const c of children) await c.stop();
  for (const r of redises) {
    r.process?.kill('SIGCONT');
    await r.stop();
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  ms: number;
  retryAfter: string | null;
  body: unknown;
  text: string;
}

/** One request, timed; a 3 s client timeout fails the test instead of hanging it. */
async function call(base: string, method: string, url: string, body?: unknown): Promise<Answer> {
  const t0 = performance.now();
  const res = await fetch(base + url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(3000),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return {
    status: res.status,
    ms: performance.now() - t0,
    retryAfter: res.headers.get('retry-after'),
    body: json,
    text,
  };
}

const NOOP = { type: 'noop', params: { sleepMs: 0 } };
/** Routes that need Redis, as a client would call them during an outage. */
const REQUESTS: [string, string, unknown?][] = [
  ['POST', '/v1/jobs', NOOP],
  ['GET', '/v1/jobs'],
  ['GET', '/v1/jobs/default.any.0123'],
  ['GET', '/v1/workers'],
  ['GET', '/v1/tenants'],
  ['GET', '/v1/tenant'],
  ['GET', '/v1/jobs/default.any.0123/curve'],
  ['GET', '/v1/kernels/tuning'],
];

/**
 * Sends every request of REQUESTS for `ms`, a few at a time, and checks each answered within
 * 1 s: with 503 redis_unavailable, or in the first second (before the health check saw the
 * outage) with what needed no Redis (a cached tenant). Returns how many got 503.
 */
async function expectDegraded(base: string, ms: number): Promise<number> {
  const t0 = Date.now();
  let n = 0;
  while (Date.now() < t0 + ms) {
    const sent = Date.now();
    const answers = await Promise.all(REQUESTS.map(([m, u, b]) => call(base, m, u, b)));
    for (const [i, a] of answers.entries()) {
      const what = `${REQUESTS[i][0]} ${REQUESTS[i][1]}: ${a.status} in ${Math.round(a.ms)} ms ${a.text}`;
      expect(a.ms, what).toBeLessThan(1000);
      if (a.status !== 503 && sent - t0 < 1000) continue;
      expect(a.status, what).toBe(503);
      expect(a.retryAfter, what).toMatch(/^[1-9][0-9]*$/);
      expect(a.body, what).toEqual({ error: { code: 'redis_unavailable', message: expect.stringMatching(/Redis/) } });
      n++;
    }
  }
  const live = await call(base, 'GET', '/livez');
  expect([live.status, live.ms < 1000]).toEqual([200, true]);
  const ready = await call(base, 'GET', '/readyz');
  expect([ready.status, ready.ms < 1000, ready.body]).toEqual([503, true, { ok: false, redis: false }]);
  const healthz = await call(base, 'GET', '/healthz');
  expect(healthz.status).toBe(503);
  const metrics = await call(base, 'GET', '/metrics');
  expect([metrics.status, metrics.ms < 1000]).toEqual([200, true]);
  expect(metrics.text).toMatch(/^usine_redis_up 0$/m);
  return n;
}

/** Waits until /readyz says 200 (Redis back), then checks the API serves again. Returns the wait in ms. */
async function expectRecovered(base: string): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const r = await call(base, 'GET', '/readyz');
    if (r.status === 200) break;
    expect(Date.now() - t0, 'not ready 15 s after Redis came back').toBeLessThan(15_000);
    await new Promise((r) => setTimeout(r, 100));
  }
  const waited = Date.now() - t0;
  const list = await call(base, 'GET', '/v1/jobs');
  expect(list.status, list.text).toBe(200);
  const tenants = await call(base, 'GET', '/v1/tenants');
  expect(tenants.status, tenants.text).toBe(200);
  expect((await call(base, 'GET', '/metrics')).text).toMatch(/^usine_redis_up 1$/m);
  return waited;
}

function scheduler(port: number, redisPort: number): Promise<Child> {
  const env = {
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    USINE_PORT: String(port),
    USINE_QUEUE_PREFIX: `outage${process.pid}`,
    USINE_DATA_DIR: path.join(dir, `data-${port}`),
    USINE_ARTIFACT_DIR: path.join(dir, `artifacts-${port}`),
  };
  return startTs('scheduler/main.ts', env, /scheduler listening/).then((c) => (children.push(c), c));
}

async function startRedis(port: number): Promise<LocalRedis> {
  const url = `redis://127.0.0.1:${port}`;
  const r = await ensureRedis(url, path.join(dir, `redis-${port}`));
  expect(r.process, `something else answers at ${url}`).not.toBeNull();
  redises.push(r);
  return r;
}

describe('the scheduler during a Redis outage', () => {
  const base = `http://127.0.0.1:${API_PORT}`;
  let redis: LocalRedis;
  let sched: Child;

  beforeAll(async () => {
    expect(await redisAnswers(`redis://127.0.0.1:${REDIS_PORT}`), `port ${REDIS_PORT} is taken`).toBe(false);
    redis = await startRedis(REDIS_PORT);
    sched = await scheduler(API_PORT, REDIS_PORT);
    expect((await call(base, 'GET', '/v1/jobs')).status).toBe(200);
  }, 60_000);

  it('answers 503 within 1 s while Redis is frozen, and serves again when it resumes', async () => {
    redis.process!.kill('SIGSTOP');
    try {
      expect(await expectDegraded(base, 3000)).toBeGreaterThan(10);
    } finally {
      redis.process!.kill('SIGCONT');
    }
    expect(await expectRecovered(base)).toBeLessThan(5000);
  }, 30_000);

  it('answers 503 within 1 s while Redis is gone, and serves again when it restarts on its data', async () => {
    const gone = redis;
    redises.splice(redises.indexOf(gone), 1);
    await new Promise<void>((resolve) => {
      gone.process!.once('exit', () => resolve());
      gone.process!.kill('SIGKILL');
    });
    expect(await expectDegraded(base, 3000)).toBeGreaterThan(10);
    redis = await startRedis(REDIS_PORT);
    expect(await expectRecovered(base)).toBeLessThan(5000);
    expect(sched.proc.exitCode).toBeNull(); // the same process throughout
    expect(await sched.stop()).toBe(0);
  }, 30_000);
});

describe('a scheduler started while Redis is down', () => {
  const base = `http://127.0.0.1:${API_PORT_COLD}`;

  it('listens, answers 503 until Redis comes up, then serves', async () => {
    expect(await redisAnswers(`redis://127.0.0.1:${REDIS_PORT_COLD}`), `port ${REDIS_PORT_COLD} is taken`).toBe(false);
    const t0 = Date.now();
    const sched = await scheduler(API_PORT_COLD, REDIS_PORT_COLD);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(sched.output()).toMatch(/redis unreachable/);
    await expectDegraded(base, 1500);
    await startRedis(REDIS_PORT_COLD);
    expect(await expectRecovered(base)).toBeLessThan(5000);
    // The tenants were seeded once Redis came up: open mode's "default" tenant is there.
    expect(JSON.stringify((await call(base, 'GET', '/v1/tenants')).body)).toContain('"default"');
    expect((await call(base, 'POST', '/v1/jobs', NOOP)).status).not.toBe(503);
    // Redis goes again, with queues open: SIGTERM still stops the scheduler at once.
    const r = redises.pop()!;
    await new Promise<void>((resolve) => {
      r.process!.once('exit', () => resolve());
      r.process!.kill('SIGKILL');
    });
    await expectDegraded(base, 1500);
    const t0Stop = Date.now();
    expect(await sched.stop()).toBe(0);
    expect(Date.now() - t0Stop).toBeLessThan(5000);
  }, 60_000);

  it('stops cleanly on SIGTERM while Redis is still down', async () => {
    const sched = await scheduler(API_PORT_COLD, REDIS_PORT_COLD + 100); // nothing listens there
    expect((await call(base, 'GET', '/livez')).status).toBe(200);
    const t0 = Date.now();
    expect(await sched.stop('SIGTERM')).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
  }, 60_000);
});

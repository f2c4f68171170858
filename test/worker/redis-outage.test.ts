// A worker while Redis is away: it stays up (no exit), says so on /readyz and usine_redis_up,
// takes no jobs and does not spin a core while it waits, and takes jobs again by itself once
// Redis is back. A scheduler and a worker (child processes) on a Redis of this file's own.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsineClient } from '../../client/client.ts';
import { ensureRedis, type LocalRedis } from '../../shared/redis-server.ts';
import { redisAnswers } from '../../shared/redis.ts';
import { Cluster, jobUntil } from '../support/cluster.ts';

const API_PORT = 8962; // and the worker's /metrics on 8963
const REDIS_PORT = 8967;
const REDIS_URL = `redis://127.0.0.1:${REDIS_PORT}`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usine-worker-outage-'));
const cluster = new Cluster({ port: API_PORT, workers: [{}], env: { REDIS_URL } });
const client = new UsineClient({ url: cluster.url });
const workerUrl = `http://127.0.0.1:${API_PORT + 1}`;
let redis: LocalRedis | null = null;

const startRedis = async () => (redis = await ensureRedis(REDIS_URL, path.join(dir, 'redis')));

beforeAll(async () => {
  expect(await redisAnswers(REDIS_URL), `port ${REDIS_PORT} is taken`).toBe(false);
  await startRedis();
  await cluster.start();
}, 90_000);

afterAll(async () => {
  await cluster.stop();
  redis?.process?.kill('SIGCONT');
  await redis?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function get(url: string): Promise<{ status: number; text: string }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return { status: r.status, text: await r.text() };
}

/** CPU seconds (user + system) the process has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100/s)
}

async function runOne(): Promise<void> {
  const { id } = await client.submit({ type: 'noop', params: { sleepMs: 0 } });
  expect((await jobUntil(client, id, (v) => v.state === 'succeeded' || v.state === 'failed', 30_000)).state).toBe(
    'succeeded',
  );
}

async function until(what: string, cond: () => Promise<boolean>, ms = 15_000): Promise<number> {
  const t0 = Date.now();
  while (!(await cond().catch(() => false))) {
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return Date.now() - t0;
}

describe('a worker during a Redis outage', () => {
  it('waits without spinning, stays up, and takes jobs again once Redis is back', async () => {
    await runOne();
    const worker = cluster.workers[0]!;
    const pid = worker.proc.pid!;
    expect((await get(`${workerUrl}/readyz`)).status).toBe(200);

    // Gone: killed, with no one listening on its port.
    await new Promise<void>((resolve) => {
      redis!.process!.once('exit', () => resolve());
      redis!.process!.kill('SIGKILL');
    });
    redis = null;
    await until('worker /readyz 503', async () => (await get(`${workerUrl}/readyz`)).status === 503, 5000);
    expect((await get(`${workerUrl}/readyz`)).text).toBe('redis unreachable\n');
    expect((await get(`${workerUrl}/healthz`)).status).toBe(503);
    expect((await get(`${workerUrl}/livez`)).status).toBe(200);
    expect((await get(`${workerUrl}/metrics`)).text).toMatch(/^usine_redis_up 0$/m);

    // No busy loop: over 5 s of waiting the worker uses a small fraction of one core.
    const cpu0 = cpuSeconds(pid);
    await new Promise((r) => setTimeout(r, 5000));
    const used = cpuSeconds(pid) - cpu0;
    expect(used, `${used} CPU seconds in 5 s`).toBeLessThan(0.5);
    expect(worker.proc.exitCode).toBeNull();

    // Back on its data: the same worker process takes jobs again, by itself.
    await startRedis();
    const ms = await until('worker /readyz 200', async () => (await get(`${workerUrl}/readyz`)).status === 200);
    expect(ms).toBeLessThan(15_000);
    await until('scheduler /readyz 200', async () => (await get(`${cluster.url}/readyz`)).status === 200);
    await runOne();
    expect((await get(`${workerUrl}/metrics`)).text).toMatch(/^usine_redis_up 1$/m);
    expect(worker.proc.exitCode).toBeNull();
    expect(worker.output()).toMatch(/redis unreachable; no new jobs/);
  }, 90_000);

  it('stops on SIGTERM while Redis is down, without logging every failed command', async () => {
    const worker = cluster.workers[0]!;
    await new Promise<void>((resolve) => {
      redis!.process!.once('exit', () => resolve());
      redis!.process!.kill('SIGKILL');
    });
    redis = null;
    await until('worker /readyz 503', async () => (await get(`${workerUrl}/readyz`)).status === 503, 5000);
    const logged = worker.output().length;
    await new Promise((r) => setTimeout(r, 2000));
    // The outage is logged once, not once per failed command of every queue's worker.
    expect(
      worker
        .output()
        .slice(logged)
        .match(/queue worker error/g) ?? [],
    ).toEqual([]);
    const t0 = Date.now();
    const code = await cluster.stopWorker(0);
    expect(code).toBe(0); // not killed after the 10 s grace of stop()
    expect(Date.now() - t0).toBeLessThan(9000);
  }, 60_000);
});

// A worker whose device is lost follows the device-loss steps whenever the loss comes: it
// counts it, logs it, stops taking jobs, leaves the worker table, keeps /metrics up for the
// grace period, then reports it (main.ts exits 3). Real Redis, a real lavapipe device whose
// `lost` promise the test resolves (Dawn's own destroy() says 'destroyed', which is ignored).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Redis } from 'ioredis';
import { loadConfig, workerEnv, type WorkerConfig } from '../../shared/config.ts';
import { connectRedis } from '../../shared/redis.ts';
import { openDevice, type OpenDevice, type OpenOptions } from '../../kernels/device.ts';
import { jobSpec, requirements } from '../../shared/job-spec.ts';
import { JobStore } from '../../scheduler/queue/job-store.ts';
import { TenantQueues, queueName } from '../../scheduler/queue/tenant-queues.ts';
import { Keys } from '../../scheduler/state/keys.ts';
import { WorkerRegistry } from '../../scheduler/state/workers.ts';
import { createWorker, DeviceLostError, type UsineWorker } from '../../worker/worker.ts';

const GRACE_MS = 800;
const prefix = `devlost${process.pid}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usine-device-lost-'));
let redis: Redis;
let registry: WorkerRegistry;
let queues: TenantQueues;
let store: JobStore;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

beforeAll(() => {
  redis = connectRedis(inject('redisUrl'));
  const keys = new Keys(prefix);
  registry = new WorkerRegistry(redis, keys, 10_000);
  queues = new TenantQueues(redis, keys, prefix);
  store = new JobStore(redis, keys, queues, 3600);
  process.on('unhandledRejection', onUnhandled);
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await queues.close();
  await redis.quit();
  fs.rmSync(dir, { recursive: true, force: true });
});

const cfg: WorkerConfig = {
  ...loadConfig(workerEnv, {
    REDIS_URL: inject('redisUrl'),
    USINE_QUEUE_PREFIX: prefix,
    USINE_DATA_DIR: dir,
    USINE_ARTIFACT_DIR: path.join(dir, 'artifacts'),
    USINE_MATMUL_AUTOTUNE: 'stored',
    USINE_WORKER_NAME: 'lost',
  }),
  USINE_WORKER_METRICS_PORT: 0,
};

interface Harness {
  worker: UsineWorker;
  lines: Record<string, unknown>[];
  /** Loses the device now (reason 'unknown', as a driver reset would). */
  lose(): void;
  /** Resolves with the time onDeviceLost was called. */
  reported: Promise<number>;
  reportedCount(): number;
}

const started: UsineWorker[] = [];
afterEach(async () => {
  for (const w of started.splice(0)) await w.stop();
});

/** A worker whose device `lose()` loses; `loseAtOpen` loses it as soon as it is opened. */
function harness(loseAtOpen: boolean): Harness {
  const lines: Record<string, unknown>[] = [];
  const write = (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>);
  const log = pino({ level: 'info' }, { write });
  let lose!: () => void;
  const open = async (o: OpenOptions): Promise<OpenDevice> => {
    const d = await openDevice(o);
    const lost = new Promise<GPUDeviceLostInfo>((resolve) => {
      lose = () => resolve({ reason: 'unknown', message: 'test: device lost' } as GPUDeviceLostInfo);
    });
    // An own property over the prototype's getter; the rest of the device is the real one.
    Object.defineProperty(d.device, 'lost', { value: lost });
    if (loseAtOpen) lose();
    return d;
  };
  let count = 0;
  let report!: (t: number) => void;
  const reported = new Promise<number>((resolve) => (report = resolve));
  const worker = createWorker(cfg, {
    openDevice: open,
    deviceLostGraceMs: GRACE_MS,
    onDeviceLost: () => {
      count++;
      report(Date.now());
    },
    log,
  });
  started.push(worker);
  return { worker, lines, lose: () => lose(), reported, reportedCount: () => count };
}

async function get(worker: UsineWorker, p: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${worker.metricsPort}${p}`);
  return { status: res.status, text: await res.text() };
}

async function until(pred: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const submitNoop = () =>
  store.add([
    {
      spec: jobSpec.parse({ type: 'noop', params: {} }),
      queue: { name: queueName('a', 'any'), tenant: 'a', cls: 'any', requirements: requirements.parse({}) },
    },
  ]);
const succeeded = (h: Harness) => h.lines.filter((l) => l.msg === 'job succeeded').length;
const inTable = async (w: UsineWorker) => (await registry.live()).some((r) => r.id === w.id);

async function expectLossSteps(h: Harness, lostAt: number): Promise<void> {
  const { worker } = h;
  expect((await get(worker, '/healthz')).status).toBe(503);
  expect((await get(worker, '/healthz')).text).toBe('device lost\n');
  expect((await get(worker, '/metrics')).text).toMatch(/^usine_worker_device_lost_total 1$/m);
  const fatal = { level: 60, reason: 'unknown', worker: 'lost', graceMs: GRACE_MS };
  expect(h.lines).toContainEqual(expect.objectContaining(fatal));
  expect(await inTable(worker)).toBe(false);
  // /metrics stays up for the grace period; then the loss is reported, once.
  expect(h.reportedCount()).toBe(0);
  expect(await h.reported).toBeGreaterThanOrEqual(lostAt + GRACE_MS - 50);
  await new Promise((r) => setTimeout(r, 100));
  expect(h.reportedCount()).toBe(1);
  expect(await inTable(worker)).toBe(false);
  expect(unhandled).toEqual([]);
}

describe('device lost', () => {
  // Before Redis, the tuner, the puller and the worker table exist: the old handler threw a ReferenceError.
  it('during start-up: the loss steps, no crash, and start-up goes no further', async () => {
    const h = harness(true);
    const lostAt = Date.now();
    await expect(h.worker.start()).rejects.toBeInstanceOf(DeviceLostError);
    // Start-up stopped there: it never joined the worker table nor took jobs.
    await expectLossSteps(h, lostAt);
  });

  it('after start-up: it leaves the worker table and stops taking jobs', async () => {
    const h = harness(false);
    const ready = await h.worker.start();
    expect(ready.metricsUrl).toBe(`http://127.0.0.1:${h.worker.metricsPort}/metrics`);
    expect(await inTable(h.worker)).toBe(true);
    expect((await get(h.worker, '/healthz')).status).toBe(200);
    await submitNoop();
    await until(async () => succeeded(h) === 1, 'a job ran before the loss');
    h.lose();
    const lostAt = Date.now();
    await until(async () => (await get(h.worker, '/healthz')).status === 503, '/healthz answers 503');
    // The table entry goes at once, not when its heartbeats time out (10 s).
    await until(async () => !(await inTable(h.worker)), 'the worker left the table', 2000);
    await submitNoop();
    await new Promise((r) => setTimeout(r, 500));
    expect(succeeded(h)).toBe(1);
    await expectLossSteps(h, lostAt);
  });
});

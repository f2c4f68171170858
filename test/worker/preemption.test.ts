// One real preemption and resume on lavapipe, through an in-process worker: its heartbeat
// reports the running train job and its last checkpoint; a request in the ledger naming
// the worker stops the job, which checkpoints its step, goes back to its queue without
// using an attempt, and resumes from that step on its next start. The job's view, result
// and log say so.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { loadConfig, workerEnv, type WorkerConfig } from '../../shared/config.ts';
import { connectRedis } from '../../shared/redis.ts';
import { createLogger } from '../../shared/logger.ts';
import { jobSpec, requirements } from '../../shared/job-spec.ts';
import { JobStore } from '../../scheduler/queue/job-store.ts';
import { TenantQueues, queueName } from '../../scheduler/queue/tenant-queues.ts';
import { Keys } from '../../scheduler/state/keys.ts';
import { WorkerRegistry } from '../../scheduler/state/workers.ts';
import { PreemptionLedger } from '../../scheduler/state/preemptions.ts';
import { createWorker } from '../../worker/worker.ts';

const prefix = `preemptw${process.pid}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usine-preemption-'));
const redis = connectRedis(inject('redisUrl'));
const keys = new Keys(prefix);
const queues = new TenantQueues(redis, keys, prefix);
const store = new JobStore(redis, keys, queues, 3600);
const registry = new WorkerRegistry(redis, keys, 10_000);
const ledger = new PreemptionLedger(redis, keys);
const cfg: WorkerConfig = {
  ...loadConfig(workerEnv, {
    REDIS_URL: inject('redisUrl'),
    USINE_QUEUE_PREFIX: prefix,
    USINE_DATA_DIR: dir,
    USINE_ARTIFACT_DIR: path.join(dir, 'artifacts'),
    USINE_MATMUL_AUTOTUNE: 'stored',
    USINE_WORKER_NAME: 'w-pre',
  }),
  USINE_WORKER_METRICS_PORT: 0,
};
const worker = createWorker(cfg, { log: createLogger('preemption-test', 'error') });

afterAll(async () => {
  await worker.stop();
  await queues.close();
  await redis.quit();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function until<T>(what: string, f: () => Promise<T>, timeoutMs = 60_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('preemption of a train job on a worker', () => {
  it(
    'checkpoints, requeues without an attempt, and resumes from the step it stopped at',
    { timeout: 180_000 },
    async () => {
      await worker.start();
      const steps = 150;
      const [id] = await store.add([
        {
          spec: jobSpec.parse({
            type: 'train',
            params: {
              model: { vocabSize: 13, contextLength: 9, layers: 1, dModel: 32, heads: 2, dFF: 64 },
              data: { source: 'task', task: { kind: 'reverse', length: 4 } },
              steps,
              batchSize: 8,
              schedule: { lr: 1e-2, warmupSteps: 2 },
              seed: 2,
              checkpointEvery: 10,
              evalExamples: 8,
            },
          }),
          queue: { name: queueName('big', 'any'), tenant: 'big', cls: 'any', requirements: requirements.parse({}) },
        },
      ]);
      // The heartbeat carries the job, and its checkpoint once it saved one.
      const running = await until('a checkpoint in the heartbeat', async () => {
        const w = (await registry.live()).find((r) => r.id === worker.id);
        const j = w?.jobs?.find((x) => x.id === id);
        return j?.checkpointAt ? j : null;
      });
      expect(running).toMatchObject({ tenant: 'big', queue: queueName('big', 'any'), priority: 0, preemptible: true });
      expect(running.checkpointAt).toBeGreaterThanOrEqual(running.startedAt);
      // Past the checkpoint, between two of them: the preemption must save one of its own.
      const at = await until('a few steps past the checkpoint', async () => {
        const step = Number((await store.get(id))?.progress?.step ?? 0);
        return step >= 12 && step % 10 !== 0 ? step : 0;
      });
      await ledger.request([
        {
          job: id,
          tenant: 'big',
          worker: worker.id,
          forTenant: 'uni-lab',
          reason: 'fair-share',
          requestedAt: Date.now(),
          graceSeconds: 30,
          share: 0.08,
          target: 0.5,
        },
      ]);
      // uni-lab has nothing queued: the reservation lapses and the job, first in its queue, runs again.
      const done = await until('the job succeeded', async () => {
        const v = await store.get(id);
        return v?.state === 'succeeded' ? v : null;
      });
      expect(done.attempts).toBe(1);
      expect(done.preemptions).toBe(1);
      const last = done.lastPreemption!;
      expect(last).toMatchObject({ worker: 'w-pre', forTenant: 'uni-lab', reason: 'fair-share' });
      // It checkpointed on its way out: (almost) nothing lost.
      expect(last.lostDeviceSeconds).toBeLessThan(0.5);
      expect(last.ranSeconds).toBeGreaterThan(last.lostDeviceSeconds);
      const result = done.result as { steps: number; resumedFrom: number; losses: number[] };
      // The step it had reached, or a little further (it stops between steps once it hears of it).
      expect(result.resumedFrom).toBeGreaterThanOrEqual(at);
      expect(result.resumedFrom).toBeLessThan(steps);
      expect(result.steps).toBe(steps);
      expect(result.losses).toHaveLength(steps - result.resumedFrom);
      // The request stays until the scheduler sees the job gone from the worker's heartbeat.
      expect((await ledger.get(id))?.job).toBe(id);

      const logs = (await store.logs(id))!;
      expect(logs).toContainEqual(
        expect.stringMatching(
          /Z preempted after \d+ s on worker w-pre for tenant uni-lab \(share 8 % of a 50 % target\); [\d.]+ device-seconds lost$/,
        ),
      );
      expect(logs).toContainEqual(
        expect.stringMatching(/Z attempt 1 started again after preemption 1 on worker w-pre /),
      );
      expect(logs).toContainEqual(expect.stringMatching(new RegExp(`Z resumed from step ${result.resumedFrom}$`)));
    },
  );
});

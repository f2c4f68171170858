// A scheduler and one worker on ports of the ops tests' range, sharing the tests' Redis
// under a queue prefix of their own, plus helpers to run jobs through the HTTP API.
import { startTs, type Child } from '../../support/processes.ts';

export interface Stack {
  api: string;
  schedulerMetrics: string;
  workerMetrics: string;
  scheduler: Child;
  worker: Child;
  stop(): Promise<void>;
}

export async function startStack(o: { redisUrl: string; schedulerPort: number; workerPort: number; prefix: string }): Promise<Stack> {
  const env = { REDIS_URL: o.redisUrl, USINE_QUEUE_PREFIX: o.prefix };
  const scheduler = await startTs('scheduler/main.ts', { ...env, USINE_PORT: String(o.schedulerPort) }, /scheduler listening/);
  let worker: Child;
  try {
    worker = await startTs(
      'worker/main.ts',
      { ...env, USINE_WORKER_METRICS_PORT: String(o.workerPort), USINE_WORKER_NAME: `ops-test-${o.workerPort}` },
      /worker ready/,
      60_000,
    );
  } catch (e) {
    await scheduler.stop();
    throw e;
  }
  const api = `http://127.0.0.1:${o.schedulerPort}`;
  return {
    api,
    schedulerMetrics: `${api}/metrics`,
    workerMetrics: `http://127.0.0.1:${o.workerPort}/metrics`,
    scheduler,
    worker,
    stop: async () => {
      await worker.stop();
      await scheduler.stop();
    },
  };
}

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

/** Submits `spec`; returns the job id. */
export async function submit(api: string, spec: unknown): Promise<string> {
  const res = await fetch(`${api}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spec) });
  const body = (await res.json()) as { id?: string };
  if (res.status !== 201 || !body.id) throw new Error(`POST /v1/jobs answered ${res.status}: ${JSON.stringify(body)}`);
  return body.id;
}

/** Polls a job until it reaches a final state; returns that state. */
export async function waitFinal(api: string, id: string, timeoutMs = 30_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const view = (await (await fetch(`${api}/v1/jobs/${id}`)).json()) as { state: string };
    if (FINAL.has(view.state)) return view.state;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job ${id} not finished after ${timeoutMs} ms`);
}

export const SMALL_MATMUL = { type: 'matmul', params: { m: 64, n: 64, k: 64 } };

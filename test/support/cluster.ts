// The one way tests start a cluster: a scheduler and workers as child processes (the real
// entry points), on ports of the test file's own, with their own key prefix in the tests'
// Redis and their own data and artifact folders.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { hashToken } from '../../scheduler/state/tenants.ts';
import { startTs, type Child } from './processes.ts';
import type { UsineClient } from '../../client/client.ts';
import type { JobView } from '../../shared/job-view.ts';

export interface TenantSpec {
  name: string;
  weight?: number;
  maxRunning?: number;
  maxQueued?: number;
  regions?: string[];
  vendors?: string[];
  rateLimitPerMinute?: number;
}

export interface ClusterOptions {
  /** First of the ports this cluster may use: the scheduler's, then one per worker for its /metrics. */
  port: number;
  /** Tenants (each gets the token `token-<name>`); none = open mode (every request is tenant "default"). */
  tenants?: TenantSpec[];
  /** One entry per worker: its environment on top of the cluster's (USINE_WORKER_NAME defaults to `w<i>`). */
  workers: Record<string, string>[];
  env?: Record<string, string>;
  /** Scheduler replicas on the one Redis (default 1); replica i > 0 listens after the workers' ports. */
  schedulers?: number;
}

export class Cluster {
  readonly url: string;
  readonly adminToken = 'admin-token-for-tests-0123456789';
  readonly env: Record<string, string>;
  scheduler!: Child;
  /** Every scheduler replica (`scheduler` is the first); null once stopped. */
  readonly schedulers: (Child | null)[] = [];
  readonly workers: (Child | null)[] = [];
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usine-cluster-'));

  constructor(private readonly o: ClusterOptions) {
    this.url = `http://127.0.0.1:${o.port}`;
    this.env = {
      REDIS_URL: inject('redisUrl'),
      USINE_QUEUE_PREFIX: `test${o.port}x${process.pid}`,
      USINE_PORT: String(o.port),
      USINE_ARTIFACT_DIR: path.join(this.dir, 'artifacts'),
      USINE_DATA_DIR: this.dir,
      ...o.env,
    };
    if (o.tenants) {
      const file = path.join(this.dir, 'tenants.json');
      fs.writeFileSync(
        file,
        JSON.stringify({
          adminTokenSha256: [hashToken(this.adminToken)],
          tenants: o.tenants.map((t) => ({ ...t, tokenSha256: [hashToken(Cluster.token(t.name))] })),
        }),
      );
      this.env.USINE_TENANTS_FILE = file;
    }
  }

  static token(tenant: string): string {
    return `token-${tenant}`;
  }

  /** Scheduler replica i's base URL. */
  schedulerUrl(i = 0): string {
    const port = i === 0 ? this.o.port : this.o.port + this.o.workers.length + i;
    return `http://127.0.0.1:${port}`;
  }

  /** Starts scheduler replica i (the first at `port`, the others after the workers' ports). */
  async startScheduler(i = 0): Promise<Child> {
    const port = new URL(this.schedulerUrl(i)).port;
    const c = await startTs('scheduler/main.ts', { ...this.env, USINE_PORT: port }, /scheduler listening/);
    this.schedulers[i] = c;
    if (i === 0) this.scheduler = c;
    return c;
  }

  /** Stops scheduler replica i; resolves with its exit code (null when a signal ended it). */
  async stopScheduler(i: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const code = (await this.schedulers[i]?.stop(signal)) ?? null;
    this.schedulers[i] = null;
    return code;
  }

  /** The scheduler's /metrics. */
  get metricsUrl(): string {
    return `${this.url}/metrics`;
  }

  /** Worker i's /metrics. */
  workerMetricsUrl(i = 0): string {
    return `http://127.0.0.1:${this.o.port + 1 + i}/metrics`;
  }

  /** Starts the scheduler and the workers side by side (workers need only Redis). */
  async start(): Promise<this> {
    const started = await Promise.allSettled([
      ...Array.from({ length: this.o.schedulers ?? 1 }, (_, i) => this.startScheduler(i)),
      ...this.o.workers.map((_, i) => this.startWorker(i)),
    ]);
    // Every start has ended, so stop() takes down all that did start.
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return this;
  }

  async startWorker(i: number): Promise<Child> {
    const w = await startTs(
      'worker/main.ts',
      {
        ...this.env,
        USINE_WORKER_NAME: `w${i}`,
        USINE_WORKER_METRICS_PORT: String(this.o.port + 1 + i),
        ...this.o.workers[i],
      },
      /worker ready/,
      // A worker opens a device and loads kernels: slower than the scheduler on a busy machine.
      60_000,
    );
    this.workers[i] = w;
    return w;
  }

  /** Stops worker i; resolves with its exit code (null when a signal ended it). */
  async stopWorker(i: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const code = (await this.workers[i]?.stop(signal)) ?? null;
    this.workers[i] = null;
    return code;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.schedulers.map((c) => c?.stop()), ...this.workers.map((w) => w?.stop())]);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Polls a job through the API until `pred` holds; throws with the last view after `timeoutMs`. */
export async function jobUntil(
  client: UsineClient,
  id: string,
  pred: (v: JobView) => boolean,
  timeoutMs = 60_000,
): Promise<JobView> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await client.get(id);
    if (pred(v)) return v;
    if (Date.now() > end) throw new Error(`job ${id} never reached the condition; last ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// The chaos suite's cluster: its own redis-server (own port and data folder, AOF with
// appendfsync everysec, as docs/operations.md recommends) or a Sentinel set (a primary, a
// replica, three sentinels; test/support/sentinels.ts), scheduler replicas and workers as
// child processes on loopback ports, and a round-robin proxy in front of several schedulers.
// Shared by scripts/chaos.ts and test/scripts/chaos.test.ts.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { connectRedis, redisAnswers, redisTarget, type RedisTarget } from '../../shared/redis.ts';
import { startTs, type Child } from '../../test/support/processes.ts';
import { SentinelSet } from '../../test/support/sentinels.ts';
import { readChaosCounts, type ChaosCounts } from './counters.ts';
import { roundRobin, type RoundRobin } from './proxy.ts';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface ClusterShape {
  schedulers: number;
  workers: number;
  /** Workers (by index) started as scripts/chaos/lossy-worker.ts: SIGUSR2 loses their device. */
  lossy?: number[];
  /** A 64 KiB tmpfs as the artifact folder, filled up (root), or else a folder made read-only. */
  fullArtifacts?: boolean;
  /** A Sentinel set (ports base+10..base+14) instead of the one redis-server; processes know only the sentinels. */
  sentinel?: boolean;
  env?: Record<string, string>;
}

/** Where a Sentinel set's ports start, from the cluster's base: past the ports base..base+7. */
export const SENTINEL_PORT_OFFSET = 10;

/**
 * Ports from `base`: Redis, two schedulers, the proxy, then one per worker (its /metrics).
 * A cluster uses at most base..base+7; with `sentinel`, base+10..base+14 instead of base.
 */
export class ChaosCluster {
  readonly redisUrl: string;
  /** What the chaos counters connect to: the URL, or the sentinels (to follow a failover). */
  readonly redisTarget: string | RedisTarget;
  /** The Sentinel set, with `shape.sentinel`. */
  readonly sentinels: SentinelSet | null;
  readonly prefix = 'chaos';
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usine-chaos-'));
  readonly artifactDir = path.join(this.dir, 'artifacts');
  readonly env: Record<string, string>;
  redis: ChildProcess | null = null;
  readonly schedulers: (Child | null)[] = [];
  readonly workers: (Child | null)[] = [];
  /** How the artifact folder was filled: 'tmpfs', 'read-only' or null. */
  artifactsFull: 'tmpfs' | 'read-only' | null = null;
  private proxy: RoundRobin | null = null;
  private counterConn: Redis | null = null;

  constructor(
    private readonly base: number,
    readonly shape: ClusterShape,
  ) {
    this.sentinels = shape.sentinel ? new SentinelSet(base + SENTINEL_PORT_OFFSET) : null;
    const redisEnv = this.sentinels?.env ?? { REDIS_URL: `redis://127.0.0.1:${base}` };
    this.redisUrl = redisEnv.REDIS_URL!;
    this.redisTarget = this.sentinels ? redisTarget({ ...redisEnv, REDIS_URL: this.redisUrl }) : this.redisUrl;
    this.env = {
      ...redisEnv,
      USINE_QUEUE_PREFIX: this.prefix,
      USINE_DATA_DIR: this.dir,
      USINE_ARTIFACT_DIR: this.artifactDir,
      USINE_CHAOS_COUNTERS: 'on',
      // Dead workers' jobs are found within seconds, not BullMQ's default 30.
      USINE_WORKER_LOCK_SECONDS: '3',
      USINE_WORKER_TIMEOUT_SECONDS: '5',
      USINE_WORKER_CONCURRENCY: '4',
      USINE_PREEMPTION: 'off',
      ...shape.env,
    };
  }

  /** The API's one address: the proxy when there are several schedulers. */
  get url(): string {
    return this.proxy?.url ?? this.schedulerUrl(0);
  }

  schedulerUrl(i: number): string {
    return `http://127.0.0.1:${this.base + 1 + i}`;
  }

  async start(): Promise<this> {
    if (this.shape.fullArtifacts) this.fillArtifacts();
    if (this.sentinels) await this.sentinels.start();
    else await this.startRedis();
    await Promise.all([
      ...Array.from({ length: this.shape.schedulers }, (_, i) => this.startScheduler(i)),
      ...Array.from({ length: this.shape.workers }, (_, i) => this.startWorker(i)),
    ]);
    if (this.shape.schedulers > 1) {
      const backends = this.schedulers.map((_, i) => ({ host: '127.0.0.1', port: this.base + 1 + i }));
      this.proxy = await roundRobin(this.base + 3, backends);
    }
    return this;
  }

  async startRedis(): Promise<void> {
    const data = path.join(this.dir, 'redis');
    fs.mkdirSync(data, { recursive: true });
    const args = ['--port', String(this.base), '--bind', '127.0.0.1', '--dir', data, '--save', ''];
    args.push('--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction');
    const proc = spawn('redis-server', args, { stdio: 'ignore' });
    this.redis = proc;
    for (let i = 0; i < 100 && !(await redisAnswers(this.redisUrl, 200)); i++) await sleep(100);
    if (!(await redisAnswers(this.redisUrl, 500))) throw new Error(`redis-server did not answer on ${this.redisUrl}`);
  }

  /** Sends `signal` to Redis; SIGKILL and SIGTERM wait for its exit. */
  async signalRedis(signal: NodeJS.Signals): Promise<void> {
    const proc = this.redis;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill(signal);
    if (signal === 'SIGKILL' || signal === 'SIGTERM') {
      await exited;
      this.redis = null;
    }
  }

  async startScheduler(i: number): Promise<Child> {
    const c = await startTs(
      'scheduler/main.ts',
      { ...this.env, USINE_PORT: String(this.base + 1 + i) },
      /scheduler listening/,
    );
    this.schedulers[i] = c;
    return c;
  }

  async startWorker(i: number): Promise<Child> {
    const script = this.shape.lossy?.includes(i) ? 'scripts/chaos/lossy-worker.ts' : 'worker/main.ts';
    const env = { ...this.env, USINE_WORKER_NAME: `w${i}`, USINE_WORKER_METRICS_PORT: String(this.base + 4 + i) };
    const w = await startTs(script, env, /worker ready/, 90_000);
    this.workers[i] = w;
    return w;
  }

  /** The chaos counters (USINE_CHAOS_COUNTERS): per job id, runs and accepted completions; null while Redis is away. */
  async counters(): Promise<ChaosCounts | null> {
    if (!this.counterConn) {
      this.counterConn = connectRedis(this.redisTarget, { commandTimeout: 1000, maxRetriesPerRequest: 0 });
      this.counterConn.on('error', () => {});
    }
    try {
      return await readChaosCounts(this.counterConn, this.prefix);
    } catch {
      return null;
    }
  }

  /** Who holds the dispatch lease, by scheduler index (from usine_dispatch_leader), or -1. */
  async leader(): Promise<number> {
    const held = await Promise.all(
      this.schedulers.map(async (c, i) => {
        if (!c) return false;
        // A generous bound: a scrape under a flood of jobs takes a while on a shared machine.
        const text = await fetch(`${this.schedulerUrl(i)}/metrics`, { signal: AbortSignal.timeout(5000) })
          .then((r) => r.text())
          .catch(() => '');
        return /^usine_dispatch_leader 1$/m.test(text);
      }),
    );
    return held.indexOf(true);
  }

  private fillArtifacts(): void {
    fs.mkdirSync(this.artifactDir, { recursive: true });
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', this.artifactDir], { stdio: 'ignore' });
      // Full: a filler file takes every block.
      try {
        fs.writeFileSync(path.join(this.artifactDir, 'filler'), Buffer.alloc(64 * 1024));
      } catch {
        // ENOSPC once it is full: what was wanted.
      }
      this.artifactsFull = 'tmpfs';
    } catch {
      // Not root (or no mount here): a folder nobody may write to (root could; root mounts above).
      fs.chmodSync(this.artifactDir, 0o555);
      this.artifactsFull = 'read-only';
    }
  }

  async stop(): Promise<void> {
    await this.proxy?.close();
    await Promise.all([...this.schedulers, ...this.workers].map((c) => c?.stop('SIGKILL')));
    this.counterConn?.disconnect();
    if (this.redis && this.redis.exitCode === null) {
      this.redis.kill('SIGCONT');
      await this.signalRedis('SIGKILL');
    }
    await this.sentinels?.stop();
    if (this.artifactsFull === 'tmpfs') {
      try {
        execFileSync('umount', [this.artifactDir], { stdio: 'ignore' });
      } catch {
        // Left mounted: say so rather than fail the run.
        console.error(`chaos: could not unmount ${this.artifactDir}`);
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

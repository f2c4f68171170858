// The job queues: one BullMQ queue per (tenant, requirement class). A free device slot
// chooses among them by the fair-share policy; within one queue BullMQ's priority orders.
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Requirements } from '../../shared/job-spec.ts';
import type { JobData } from '../../shared/queues.ts';
import type { Keys } from '../state/keys.ts';

export interface QueueInfo {
  name: string;
  tenant: string;
  cls: string;
  requirements: Requirements;
}

export function queueName(tenant: string, cls: string): string {
  // BullMQ forbids ':' in queue names; tenant names are [a-z0-9-].
  return `t.${tenant}.${cls}`;
}

export interface QueueCounts {
  queued: number;
  running: number;
}

export class TenantQueues {
  private readonly open = new Map<string, Queue<JobData>>();
  private known = new Map<string, QueueInfo>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly prefix: string,
  ) {}

  /** The BullMQ queue for `name` (opened once, reused). */
  queue(name: string): Queue<JobData> {
    let q = this.open.get(name);
    if (!q) {
      q = new Queue<JobData>(name, { connection: this.redis, prefix: this.prefix });
      this.open.set(name, q);
    }
    return q;
  }

  /** Records a queue in the registry (once per process per queue). */
  async register(info: QueueInfo): Promise<void> {
    if (this.known.has(info.name)) return;
    await this.redis.hset(this.keys.queues, info.name, JSON.stringify(info));
    this.known.set(info.name, info);
  }

  /** Every queue ever used, from Redis. */
  async list(): Promise<QueueInfo[]> {
    const all = await this.redis.hgetall(this.keys.queues);
    this.known = new Map(Object.entries(all).map(([n, j]) => [n, JSON.parse(j) as QueueInfo]));
    return [...this.known.values()];
  }

  /** Queued (waiting, prioritized, delayed for retry) and running counts per queue, in one round trip. */
  async counts(queues: QueueInfo[]): Promise<Map<string, QueueCounts>> {
    const pipe = this.redis.pipeline();
    for (const q of queues) {
      const k = `${this.prefix}:${q.name}`;
      pipe.llen(`${k}:wait`).zcard(`${k}:prioritized`).zcard(`${k}:delayed`).llen(`${k}:paused`).llen(`${k}:active`);
    }
    const res = (await pipe.exec()) ?? [];
    const out = new Map<string, QueueCounts>();
    queues.forEach((q, i) => {
      const n = (j: number) => Number(res[i * 5 + j]?.[1] ?? 0);
      out.set(q.name, { queued: n(0) + n(1) + n(2) + n(3), running: n(4) });
    });
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.open.values()].map((q) => q.close()));
    this.open.clear();
  }
}

/** Sums per-queue counts per tenant. */
export function perTenant(queues: QueueInfo[], counts: Map<string, QueueCounts>): Map<string, QueueCounts> {
  const out = new Map<string, QueueCounts>();
  for (const q of queues) {
    const c = counts.get(q.name) ?? { queued: 0, running: 0 };
    const t = out.get(q.tenant) ?? { queued: 0, running: 0 };
    out.set(q.tenant, { queued: t.queued + c.queued, running: t.running + c.running });
  }
  return out;
}

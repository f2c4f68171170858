// The job queues: per (tenant, requirement class), one BullMQ queue for jobs at the default
// priority 0 and one for jobs with a higher priority. A free device slot chooses among the
// tenants by the fair-share policy; within a tenant it takes from the priority queue first,
// where BullMQ's priority orders. Jobs at priority 0 wait in BullMQ's plain FIFO list, its
// cheapest path (a prioritized job costs BullMQ about 10% more work, measured).
import { randomUUID } from 'node:crypto';
import { FlowProducer, Queue, type FlowJob } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Requirements } from '../../shared/job-spec.ts';
import type { JobData } from '../../shared/queues.ts';
import type { Keys } from '../state/keys.ts';
import { ActiveQueues } from './active-queues.ts';

export interface QueueInfo {
  name: string;
  tenant: string;
  cls: string;
  requirements: Requirements;
  /** Holds the jobs with a priority above 0 (absent: the FIFO queue of priority-0 jobs). */
  prioritized?: boolean;
}

export function queueName(tenant: string, cls: string, prioritized = false): string {
  // BullMQ forbids ':' in queue names; tenant names are [a-z0-9-].
  return `t.${tenant}.${cls}${prioritized ? '.p' : ''}`;
}

/**
 * A new job's id: its queue's tenant and class (and `p` for the priority queue), then a random
 * part (`acme.any.9b1f…`, `acme.any.p.07c2…`). The id says which queue holds the job, so
 * finding a job needs no index of its own.
 */
export function newJobId(queue: QueueInfo): string {
  return `${queue.tenant}.${queue.cls}.${queue.prioritized ? 'p.' : ''}${randomUUID()}`;
}

/** The queue a job id names (null for an id usine did not make). */
export function queueOfJobId(id: string): string | null {
  const parts = id.split('.');
  if (!parts.every(Boolean)) return null;
  if (parts.length === 3) return queueName(parts[0], parts[1]);
  if (parts.length === 4 && parts[2] === 'p') return queueName(parts[0], parts[1], true);
  return null;
}

export interface QueueCounts {
  /** Waiting, prioritized and delayed (a retry waiting out its backoff). */
  queued: number;
  running: number;
  /** Of `queued`, the delayed ones: not takeable until due (BullMQ promotes them when a worker takes from the queue). */
  delayed?: number;
}

/** A job to add to one of the job queues (BullMQ's name, data and options). */
export type NewBullJob = Pick<FlowJob, 'name' | 'queueName' | 'opts'> & { data: JobData };

export class TenantQueues {
  private readonly open = new Map<string, Queue<JobData>>();
  private producer: FlowProducer | null = null;
  private known = new Map<string, QueueInfo>();
  /** The registry as last read: each entry's text and its parsed form (see list()). */
  private read = new Map<string, { json: string; info: QueueInfo }>();
  /** The index of queues that may hold work (see active-queues.ts). */
  readonly active: ActiveQueues;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly prefix: string,
  ) {
    this.active = new ActiveQueues(redis, keys, prefix);
  }

  /** The BullMQ queue for `name` (opened once, reused). */
  queue(name: string): Queue<JobData> {
    let q = this.open.get(name);
    if (!q) {
      q = new Queue<JobData>(name, { connection: this.redis, prefix: this.prefix });
      this.open.set(name, q);
    }
    return q;
  }

  /**
   * Adds jobs to any number of queues in one transaction (BullMQ's FlowProducer with flows of
   * one job each), so a connection lost midway adds none of them. One Queue.addBulk per queue
   * was a transaction each: a batch spread over 1,000 tenants' queues cost 2-3 times the CPU
   * per job of one over a single queue (`scripts/bench-scale` submitter; about 70 µs a job now).
   */
  async addAll(jobs: NewBullJob[]): Promise<void> {
    this.producer ??= new FlowProducer({ connection: this.redis, prefix: this.prefix });
    await this.producer.addBulk(jobs);
  }

  /** Records a queue in the registry (once per process per queue). */
  async register(info: QueueInfo): Promise<void> {
    if (this.known.has(info.name)) return;
    await this.redis.hset(this.keys.queues, info.name, JSON.stringify(info));
    this.known.set(info.name, info);
  }

  /** Whether `name` is a job queue (looked up in Redis when not known here yet). */
  async has(name: string): Promise<boolean> {
    if (this.known.has(name)) return true;
    return (await this.list()).some((q) => q.name === name);
  }

  /**
   * Every queue ever used, from Redis. An entry whose text did not change since the last
   * reading keeps its object: workers and the round re-read the table every second, and at
   * 1,000 tenants parsing it anew was a tenth of a worker's CPU (#14).
   */
  async list(): Promise<QueueInfo[]> {
    const all = await this.redis.hgetall(this.keys.queues);
    const read = new Map<string, { json: string; info: QueueInfo }>();
    for (const [name, json] of Object.entries(all)) {
      const last = this.read.get(name);
      read.set(name, last?.json === json ? last : { json, info: JSON.parse(json) as QueueInfo });
    }
    this.read = read;
    this.known = new Map([...read].map(([name, r]) => [name, r.info]));
    return [...this.known.values()];
  }

  /**
   * Queued (waiting, prioritized, delayed for retry) and running counts per queue, in one
   * round trip: three reads for a FIFO queue, four for a priority queue. A FIFO queue's jobs
   * all have priority 0, so its prioritized set stays empty; a priority queue's wait in the
   * sorted set, but BullMQ's stalled-job recovery puts them back in the list, so both are read.
   * usine never pauses a queue, so the paused list is not read (the active-queue index's empty
   * check still counts it).
   */
  async counts(queues: QueueInfo[]): Promise<Map<string, QueueCounts>> {
    const pipe = this.redis.pipeline();
    for (const q of queues) {
      const k = `${this.prefix}:${q.name}`;
      pipe.llen(`${k}:wait`);
      if (q.prioritized) pipe.zcard(`${k}:prioritized`);
      pipe.zcard(`${k}:delayed`).llen(`${k}:active`);
    }
    const res = (await pipe.exec()) ?? [];
    const out = new Map<string, QueueCounts>();
    let at = 0;
    for (const q of queues) {
      const n = () => Number(res[at++]?.[1] ?? 0);
      const ready = n() + (q.prioritized ? n() : 0);
      const delayed = n();
      out.set(q.name, { queued: ready + delayed, running: n(), delayed });
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.open.values()].map((q) => q.close()));
    this.open.clear();
    await this.producer?.close();
    this.producer = null;
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

// Preemption requests in Redis: written by the scheduler that decides them, carried out by
// the worker that runs the victim, removed once the victim is back in its queue. Kept in a
// hash rather than only published so that a request survives a restart of either side: a
// worker that missed the message finds it again (the scheduler re-sends pending ones), and a
// request is keyed by its job, so it is carried out at most once per attempt.
import type { Redis } from 'ioredis';
import type { Keys } from './keys.ts';

export interface PreemptionRequest {
  /** The victim job. */
  job: string;
  /** The victim's tenant. */
  tenant: string;
  /** The worker id (its run's id in the worker table) that runs the victim. */
  worker: string;
  /** Who gets the freed slot. */
  forTenant: string;
  reason: 'fair-share' | 'priority';
  /** When it was decided (ms since the epoch). */
  requestedAt: number;
  /** The worker abandons the attempt this long after the request, even if the job has not stopped. */
  graceSeconds: number;
  /** The preemptor's share of the matching slots at the decision, and its target (0..1). */
  share: number;
  target: number;
}

export class PreemptionLedger {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** Records requests, then tells the workers (one message per victim). */
  async request(reqs: PreemptionRequest[]): Promise<void> {
    if (reqs.length === 0) return;
    await this.redis.hset(this.keys.preemptions, Object.fromEntries(reqs.map((r) => [r.job, JSON.stringify(r)])));
    await this.resend(reqs.map((r) => r.job));
  }

  /** Publishes the victims' ids again (a worker acts on a request once; a repeat is harmless). */
  async resend(jobs: string[]): Promise<void> {
    if (jobs.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const j of jobs) pipe.publish(this.keys.preemptChannel, j);
    await pipe.exec();
  }

  async get(job: string): Promise<PreemptionRequest | null> {
    const json = await this.redis.hget(this.keys.preemptions, job);
    return json ? (JSON.parse(json) as PreemptionRequest) : null;
  }

  /** Every pending request. */
  async all(): Promise<PreemptionRequest[]> {
    return Object.values(await this.redis.hgetall(this.keys.preemptions)).map(
      (j) => JSON.parse(j) as PreemptionRequest,
    );
  }

  /** Removes requests that are done (the victim is back in its queue) or moot (it ended first). */
  async clear(jobs: string[]): Promise<void> {
    if (jobs.length) await this.redis.hdel(this.keys.preemptions, ...jobs);
  }
}

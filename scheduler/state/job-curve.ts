// Train jobs' learning curves in Redis: a sorted set per job (`<prefix>:curve:<id>`), scored
// by step, each member a point's JSON. Written by the worker in batches (worker/train/curve-recorder.ts),
// read by GET /v1/jobs/:id/curve. It expires the retention period after its last write, as
// the job itself is removed that long after it ends; a curve is bounded (shared/job-curve.ts).
import type { Redis } from 'ioredis';
import { curvePointSchema, type CurvePoint } from '../../shared/job-curve.ts';
import type { Keys } from './keys.ts';

export class CurveStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Pick<Keys, 'prefix'>,
  ) {}

  key(jobId: string): string {
    return `${this.keys.prefix}:curve:${jobId}`;
  }

  /**
   * Adds a batch of points (by step). Stored points from the batch's first step on are replaced:
   * an attempt resumed from a checkpoint trains those steps again, and its points are the ones that count.
   */
  async append(jobId: string, points: readonly CurvePoint[], retentionSeconds: number): Promise<void> {
    if (!points.length) return;
    const key = this.key(jobId);
    const args: (string | number)[] = [];
    for (const p of points) args.push(p.step, JSON.stringify(p));
    await this.redis
      .multi()
      .zremrangebyscore(key, points[0].step, '+inf')
      .zadd(key, ...args)
      .expire(key, retentionSeconds)
      .exec();
  }

  /** Up to `limit` points after step `after`, by step; `more` when the limit left some out. */
  async read(jobId: string, after: number, limit: number): Promise<{ points: CurvePoint[]; more: boolean }> {
    const raw = await this.redis.zrangebyscore(this.key(jobId), `(${after}`, '+inf', 'LIMIT', 0, limit + 1);
    const more = raw.length > limit;
    const points: CurvePoint[] = [];
    for (const m of raw.slice(0, limit)) {
      // A member that does not parse (written by another version) is skipped, not a 500.
      const r = curvePointSchema.safeParse(JSON.parse(m));
      if (r.success) points.push(r.data);
    }
    return { points, more };
  }
}

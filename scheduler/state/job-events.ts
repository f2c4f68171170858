// Job events from workers to the scheduler (one Redis stream): the scheduler turns them
// into its counters and histograms without polling every queue.
import type { Redis } from 'ioredis';
import type { Keys } from './keys.ts';

export type JobEvent =
  | { kind: 'started'; tenant: string; type: string; waitSeconds: number }
  | {
      /** An attempt ended: with the job's final outcome, or 'retry' when another attempt follows. */
      kind: 'ended';
      tenant: string;
      type: string;
      outcome: 'succeeded' | 'failed' | 'cancelled' | 'retry';
      runSeconds: number;
      flops: number;
      /** Estimated: run time × the worker's configured power figure. */
      joules: number;
    };

const MAXLEN = 100_000;

/** Appends events (one stream entry for many: a busy worker sends them in batches). */
export function publishEvents(redis: Redis, keys: Keys, events: JobEvent[]): Promise<unknown> {
  return redis.xadd(keys.events, 'MAXLEN', '~', String(MAXLEN), '*', 'e', JSON.stringify(events));
}

/** Reads events from now on, a worker's batch at a time, until `signal` aborts; `redis` must be a connection of its own (it blocks). */
export async function followEvents(redis: Redis, keys: Keys, onEvents: (batch: JobEvent[]) => void, signal: AbortSignal): Promise<void> {
  let last = '$';
  while (!signal.aborted) {
    const res = (await redis.xread('COUNT', 1000, 'BLOCK', 500, 'STREAMS', keys.events, last).catch((e) => {
      if (signal.aborted) return null;
      throw e;
    })) as [string, [string, string[]][]][] | null;
    if (!res) continue;
    for (const [, entries] of res) {
      for (const [id, fields] of entries) {
        last = id;
        try {
          const parsed = JSON.parse(fields[1]) as JobEvent | JobEvent[];
          onEvents(Array.isArray(parsed) ? parsed : [parsed]);
        } catch {
          // A malformed event must not stop the metrics.
        }
      }
    }
  }
}

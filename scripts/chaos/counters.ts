// The chaos counters a worker keeps when USINE_CHAOS_COUNTERS=on (worker/worker.ts): one hash
// field per run and per accepted completion, `<job id>|<uuid>`, counted here per job id. Fields,
// not HINCRBY: a command Redis ran but could not answer before it was killed is sent again once it
// is back (ioredis resends what had no reply), and a count then took one completion twice.
import type { Redis } from 'ioredis';

export interface ChaosCounts {
  /** Runs per job id (the processor returned a result). */
  executions: Record<string, number>;
  /** Completions BullMQ accepted, per job id. */
  completions: Record<string, number>;
}

export async function readChaosCounts(redis: Redis, prefix: string): Promise<ChaosCounts> {
  const [executions, completions] = await Promise.all([
    redis.hgetall(`${prefix}:chaos:executions`),
    redis.hgetall(`${prefix}:chaos:completions`),
  ]);
  return { executions: perJob(executions), completions: perJob(completions) };
}

function perJob(events: Record<string, string>): Record<string, number> {
  const n: Record<string, number> = {};
  for (const field of Object.keys(events)) {
    const id = field.slice(0, field.lastIndexOf('|'));
    n[id] = (n[id] ?? 0) + 1;
  }
  return n;
}

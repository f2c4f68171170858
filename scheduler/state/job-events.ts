// Job events from workers to the scheduler (one Redis stream, summed per tenant and type
// per flush): the scheduler turns them into its counters and histograms without polling
// every queue.
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
    }
  | {
      /** An attempt was stopped to free its slot; the job is back in its queue (not an attempt used). */
      kind: 'preempted';
      tenant: string;
      type: string;
      reason: 'fair-share' | 'priority';
      ranSeconds: number;
      /** Device-seconds of work not kept in a checkpoint. */
      lostSeconds: number;
      joules: number;
    };

/**
 * A worker's job events over one flush, per (tenant, type): what the scheduler's metrics take.
 * Sent instead of the events themselves: at thousands of jobs a second, an object per event
 * to encode, parse and apply cost more than the jobs.
 */
export interface JobEventSummary {
  tenant: string;
  type: string;
  /** Queue wait of each attempt that started, in seconds. */
  waits: number[];
  /** Run time of each attempt that ended its job (succeeded, failed or cancelled), in seconds. */
  runs: number[];
  finished: { succeeded: number; failed: number; cancelled: number };
  /** Failed attempts that will be retried. */
  retries: number;
  /** Device-seconds, FLOPs and estimated joules of every attempt that ended, retried ones included. */
  seconds: number;
  flops: number;
  joules: number;
  /** Attempts preempted, by reason (their run time is in `seconds`, not in `runs`). */
  preemptions: { 'fair-share': number; priority: number };
  /** Device-seconds the preempted attempts lost (work not kept in a checkpoint). */
  preemptedLostSeconds: number;
}

/** Sums job events per (tenant, type) until taken. */
export class JobEventSummaries {
  private bySeries = new Map<string, JobEventSummary>();

  get size(): number {
    return this.bySeries.size;
  }

  add(e: JobEvent): void {
    const key = `${e.tenant}\0${e.type}`;
    let s = this.bySeries.get(key);
    if (!s) {
      s = {
        tenant: e.tenant,
        type: e.type,
        waits: [],
        runs: [],
        finished: { succeeded: 0, failed: 0, cancelled: 0 },
        retries: 0,
        seconds: 0,
        flops: 0,
        joules: 0,
        preemptions: { 'fair-share': 0, priority: 0 },
        preemptedLostSeconds: 0,
      };
      this.bySeries.set(key, s);
    }
    if (e.kind === 'started') {
      s.waits.push(e.waitSeconds);
      return;
    }
    if (e.kind === 'preempted') {
      s.preemptions[e.reason]++;
      s.preemptedLostSeconds += e.lostSeconds;
      s.seconds += e.ranSeconds;
      s.joules += e.joules;
      return;
    }
    if (e.outcome === 'retry') s.retries++;
    else {
      s.finished[e.outcome]++;
      s.runs.push(e.runSeconds);
    }
    s.seconds += e.runSeconds;
    s.flops += e.flops;
    s.joules += e.joules;
  }

  /** The summaries so far; starts over. */
  take(): JobEventSummary[] {
    const out = [...this.bySeries.values()];
    this.bySeries = new Map();
    return out;
  }
}

const MAXLEN = 100_000;
/** The stream entry's field. Entries of other fields (an older worker's format) are skipped. */
const FIELD = 's';

/** Appends one flush's summaries as one stream entry. */
export function publishEvents(redis: Redis, keys: Keys, summaries: JobEventSummary[]): Promise<unknown> {
  return redis.xadd(keys.events, 'MAXLEN', '~', String(MAXLEN), '*', FIELD, JSON.stringify(summaries));
}

/** The consumer group the scheduler replicas read the events in: each entry goes to one of them. */
const GROUP = 'metrics';

/**
 * Reads summaries, a worker's flush at a time, until `signal` aborts; `redis` must be a
 * connection of its own (it blocks). The replicas read in one consumer group, so each entry is
 * counted by exactly one of them and `sum()` over replicas counts it once; the group starts at
 * the stream's end the first time, and after a restart of every replica goes on where it was.
 * NOACK: an entry is done once delivered (a replica that dies takes its counters with it anyway).
 */
export async function followEvents(
  redis: Redis,
  keys: Keys,
  onEvents: (batch: JobEventSummary[]) => void,
  signal: AbortSignal,
  consumer: string,
): Promise<void> {
  let grouped = false;
  while (!signal.aborted) {
    const res = (await (async () => {
      if (!grouped) {
        await redis.xgroup('CREATE', keys.events, GROUP, '$', 'MKSTREAM').catch((e: Error) => {
          if (!e.message.includes('BUSYGROUP')) throw e;
        });
        grouped = true;
      }
      return redis.xreadgroup(
        'GROUP',
        GROUP,
        consumer,
        'COUNT',
        1000,
        'BLOCK',
        500,
        'NOACK',
        'STREAMS',
        keys.events,
        '>',
      );
    })().catch((e: Error) => {
      if (signal.aborted) return null;
      // The stream or its group was deleted (a FLUSHALL, a Redis that lost its data): make it again.
      if (e.message.includes('NOGROUP')) {
        grouped = false;
        return null;
      }
      throw e;
    })) as [string, [string, string[]][]][] | null;
    if (!res) continue;
    for (const [, entries] of res) {
      for (const [, fields] of entries) {
        if (!fields || fields[0] !== FIELD) continue;
        try {
          onEvents(JSON.parse(fields[1]) as JobEventSummary[]);
        } catch {
          // A malformed entry must not stop the metrics.
        }
      }
    }
  }
}

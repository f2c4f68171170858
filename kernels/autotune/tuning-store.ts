// Where tuning results live: a JSON file per (kernel, adapter) under a folder, and a Redis hash
// per (kernel, adapter) so every worker with the same adapter reuses them. State only; the
// policy (when to tune, what to try) is in the tuner.
import fs from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';

export interface TuningEntry<C = unknown> {
  config: C;
  /** Fastest run of the winner on the shape it was tuned on. */
  ms: number;
  /** The shape it was tuned on. */
  shape: object;
  tunedAt: string;
  /** Every candidate's time, for the curious. */
  candidates?: { key: string; ms: number }[];
}

export interface TuningFile<C = unknown> {
  kernel: string;
  adapter: string;
  entries: Record<string, TuningEntry<C>>;
}

export const DEFAULT_TUNING_DIR = 'data/tuning';
export const REDIS_PREFIX = 'usine:tuning';

export function redisKey(kernel: string, adapter: string): string {
  return `${REDIS_PREFIX}:${kernel}:${adapter}`;
}

export class TuningStore<C = unknown> {
  readonly file: string;

  constructor(
    readonly kernel: string,
    readonly adapter: string,
    readonly dir: string = DEFAULT_TUNING_DIR,
    readonly redis?: Redis,
  ) {
    this.file = path.join(dir, `${kernel}-${adapter}.json`);
  }

  readFile(): Record<string, TuningEntry<C>> {
    try {
      const f = JSON.parse(fs.readFileSync(this.file, 'utf8')) as TuningFile<C>;
      return f.entries ?? {};
    } catch {
      return {};
    }
  }

  async readRedis(): Promise<Record<string, TuningEntry<C>>> {
    if (!this.redis) return {};
    const raw = await this.redis.hgetall(redisKey(this.kernel, this.adapter));
    const out: Record<string, TuningEntry<C>> = {};
    for (const [k, v] of Object.entries(raw)) {
      try {
        out[k] = JSON.parse(v) as TuningEntry<C>;
      } catch {
        // a corrupt entry is simply re-tuned
      }
    }
    return out;
  }

  async get(bucket: string): Promise<TuningEntry<C> | undefined> {
    if (this.redis) {
      const v = await this.redis.hget(redisKey(this.kernel, this.adapter), bucket);
      if (v) return JSON.parse(v) as TuningEntry<C>;
    }
    return this.readFile()[bucket];
  }

  /** Everything known: the file, overridden by Redis (the shared, fresher copy). */
  async all(): Promise<Record<string, TuningEntry<C>>> {
    return { ...this.readFile(), ...(await this.readRedis()) };
  }

  async put(bucket: string, entry: TuningEntry<C>): Promise<void> {
    // Read-modify-write, then rename: another process may have added entries meanwhile.
    fs.mkdirSync(this.dir, { recursive: true });
    const entries = { ...this.readFile(), [bucket]: entry };
    const body: TuningFile<C> = { kernel: this.kernel, adapter: this.adapter, entries };
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(body, null, 2) + '\n');
    fs.renameSync(tmp, this.file);
    if (this.redis) await this.redis.hset(redisKey(this.kernel, this.adapter), bucket, JSON.stringify(entry));
  }
}

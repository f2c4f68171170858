// /v1/kernels/tuning: the configs the workers' autotuners chose, per kernel and adapter, with
// their times and GFLOP/s. Read from Redis, the copy every worker shares (each worker's JSON file
// is local to its machine), through kernels/autotune's TuningStore. No tenant data in it.
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { REDIS_PREFIX, TuningStore, redisKey } from '../../kernels/autotune/tuning-store.ts';
import { configKey, type MatmulConfig } from '../../kernels/matmul/matmul-program.ts';
import type { KernelTuning, TunedEntry, TuningList } from '../../shared/kernel-tuning.ts';
import type { SchedulerContext } from '../context.ts';

/** An entry as the tuner stores it; one that does not parse is left out (the tuner re-tunes it). */
const storedEntry = z.object({
  config: z.record(z.string(), z.unknown()),
  ms: z.number().positive(),
  shape: z.record(z.string(), z.number()),
  tunedAt: z.string(),
  candidates: z.array(z.object({ key: z.string(), ms: z.number() })).optional(),
});

/** FLOPs of one timed run, per kernel; the tuner times the plain product (one batch, no epilogue). */
const FLOPS: Record<string, (shape: Record<string, number>) => number | null> = {
  matmul: ({ m, n, k }) => (m > 0 && n > 0 && k > 0 ? 2 * m * n * k : null),
};

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Every (kernel, adapter) with a tuning hash: the store has one hash per pair, named by redisKey. */
export async function tunedPairs(redis: Redis): Promise<{ kernel: string; adapter: string }[]> {
  const pairs: { kernel: string; adapter: string }[] = [];
  const stream = redis.scanStream({ match: `${REDIS_PREFIX}:*`, count: 200 });
  for await (const keys of stream as AsyncIterable<string[]>) {
    for (const key of keys) {
      const rest = key.slice(REDIS_PREFIX.length + 1);
      const colon = rest.indexOf(':');
      if (colon <= 0) continue;
      const pair = { kernel: rest.slice(0, colon), adapter: rest.slice(colon + 1) };
      if (redisKey(pair.kernel, pair.adapter) === key) pairs.push(pair);
    }
  }
  // SCAN may return a key twice.
  const unique = new Map(pairs.map((p) => [`${p.kernel}\n${p.adapter}`, p]));
  return [...unique.values()].sort((a, b) => a.kernel.localeCompare(b.kernel) || a.adapter.localeCompare(b.adapter));
}

export function tunedEntry(kernel: string, bucket: string, raw: unknown): TunedEntry | null {
  const e = storedEntry.safeParse(raw);
  if (!e.success) return null;
  const flops = FLOPS[kernel]?.(e.data.shape) ?? null;
  return {
    bucket,
    shape: e.data.shape,
    config: e.data.config,
    configKey: kernel === 'matmul' ? configKey(e.data.config as unknown as MatmulConfig) : null,
    ms: e.data.ms,
    gflops: flops === null ? null : round3(flops / (e.data.ms * 1e6)),
    tunedAt: e.data.tunedAt,
    candidates: e.data.candidates ?? [],
  };
}

const volume = (e: TunedEntry) => Object.values(e.shape).reduce((a, b) => a * b, 1);

export async function readTunings(redis: Redis): Promise<TuningList> {
  const tunings: KernelTuning[] = [];
  for (const { kernel, adapter } of await tunedPairs(redis)) {
    const stored = await new TuningStore(kernel, adapter, undefined, redis).readRedis();
    const entries = Object.entries(stored)
      .flatMap(([bucket, raw]) => tunedEntry(kernel, bucket, raw) ?? [])
      .sort((a, b) => volume(a) - volume(b) || a.bucket.localeCompare(b.bucket));
    if (entries.length) tunings.push({ kernel, adapter, entries });
  }
  return { tunings };
}

export function kernelRoutes(app: FastifyInstance, ctx: SchedulerContext): void {
  app.get('/v1/kernels/tuning', async (): Promise<TuningList> => readTunings(ctx.redis));
}

// Autotuning for matmul: the best config per (adapter, dtype, shape bucket), found on first use
// (or by `npm run bench -- --tune`), kept in memory, on disk and in Redis.
import type { Redis } from 'ioredis';
import { randomMatrix } from '../random.ts';
import { GpuTimer, median } from '../gpu-timer.ts';
import { Matmul } from '../matmul/matmul.ts';
import { TUNING_SPACE, fitsDevice } from '../matmul/matmul-configs.ts';
import { configKey, type MatmulConfig } from '../matmul/matmul-program.ts';
import { operandSizes, resolveSpec, type MatmulSpec, type ResolvedSpec } from '../matmul/matmul-spec.ts';
import { adapterInfoOf, adapterKey } from './adapter-key.ts';
import { DEFAULT_TUNING_DIR, TuningStore, type TuningEntry } from './tuning-store.ts';

/** Next power of two, clamped to [16, 4096]: shapes in one bucket share a config. */
function bucketDim(x: number): number {
  return Math.min(4096, Math.max(16, 2 ** Math.ceil(Math.log2(x))));
}

/** e.g. "f32|1024x1024x1024|nt": dtype, dims bucketed, transposes (they change the loads). */
export function shapeBucket(r: ResolvedSpec): string {
  return `${r.dtype}|${bucketDim(r.m)}x${bucketDim(r.n)}x${bucketDim(r.k)}|${r.transA ? 't' : 'n'}${r.transB ? 't' : 'n'}`;
}

export interface MatmulTunerOptions {
  /** Folder of the JSON files (default data/tuning). */
  dir?: string;
  /** Shares results between workers (a hash under usine:tuning:). */
  redis?: Redis;
  /** Configs to try (default TUNING_SPACE). */
  space?: MatmulConfig[];
  /** Timed rounds over all candidates after one warm-up round (default 3). */
  repeats?: number;
  /** Tune a bucket the first time `matmul.prepare`/`run` meets it (default true). */
  onFirstUse?: boolean;
  /** Override the adapter key (tests). */
  adapter?: string;
  log?: (line: string) => void;
}

export class MatmulTuner {
  readonly adapter: string;
  readonly store: TuningStore<MatmulConfig>;
  private readonly known = new Map<string, TuningEntry<MatmulConfig>>();
  private readonly inflight = new Map<string, Promise<MatmulConfig>>();
  /** How many times this tuner actually ran candidates (tests check reuse). */
  tunings = 0;

  constructor(
    readonly matmul: Matmul,
    readonly options: MatmulTunerOptions = {},
  ) {
    this.adapter = options.adapter ?? adapterKey(adapterInfoOf(matmul.device));
    this.store = new TuningStore<MatmulConfig>(
      'matmul',
      this.adapter,
      options.dir ?? DEFAULT_TUNING_DIR,
      options.redis,
    );
    // From now on the Matmul asks us first (synchronously: what is already known).
    matmul.chooser = (r) => this.known.get(shapeBucket(r))?.config;
    if (options.onFirstUse ?? true) matmul.autotune = (spec) => this.ensure(spec);
  }

  /** Loads what the file and Redis already know. */
  async load(): Promise<void> {
    for (const [k, v] of Object.entries(await this.store.all())) this.known.set(k, v);
  }

  /** The tuned config for this spec's bucket: known, shared, stored, or tuned now. */
  async ensure(spec: MatmulSpec, opts: { force?: boolean } = {}): Promise<MatmulConfig> {
    const r = resolveSpec(spec);
    const bucket = shapeBucket(r);
    if (!opts.force) {
      const hit = this.known.get(bucket) ?? (await this.store.get(bucket));
      if (hit) {
        this.known.set(bucket, hit);
        return hit.config;
      }
    }
    let p = this.inflight.get(bucket);
    if (!p) {
      p = this.tune(r, bucket).finally(() => this.inflight.delete(bucket));
      this.inflight.set(bucket, p);
    }
    return p;
  }

  private async tune(r: ResolvedSpec, bucket: string): Promise<MatmulConfig> {
    this.tunings++;
    const { device } = this.matmul;
    const space = (this.options.space ?? TUNING_SPACE).filter((c) => fitsDevice(c, device));
    // The plain product of this shape (no epilogue, one batch): the epilogue costs the same
    // for every config.
    const spec: MatmulSpec = { m: r.m, n: r.n, k: r.k, transA: r.transA, transB: r.transB, dtype: r.dtype };
    const sz = operandSizes(resolveSpec(spec));
    const a = this.matmul.upload(randomMatrix(sz.a, 11), r.dtype);
    const b = this.matmul.upload(randomMatrix(sz.b, 12), r.dtype);
    const c = this.matmul.output(sz.c, r.dtype);
    const timer = new GpuTimer(device);
    const candidates: { key: string; ms: number; config: MatmulConfig }[] = [];
    try {
      const runnable = space.filter((config) => {
        try {
          this.matmul.check(spec, config);
          return true;
        } catch {
          return false; // e.g. too many workgroups for this config
        }
      });
      // Rounds over all candidates rather than one candidate after another, and the fastest
      // run of each: on a shared machine, load comes and goes and only ever adds time.
      const times = runnable.map(() => [] as number[]);
      const rounds = 1 + (this.options.repeats ?? 3); // the first compiles and warms up
      this.options.log?.(
        `tune ${bucket}: timing ${runnable.length} configs, ${rounds} rounds (once per shape bucket on this adapter)`,
      );
      for (let round = 0; round < rounds; round++) {
        for (const [i, config] of runnable.entries()) {
          const ms = await timer.time((enc, tw) =>
            this.matmul.encode(enc, spec, { a, b, c }, { config, timestampWrites: tw }),
          );
          if (round > 0) times[i].push(ms);
        }
      }
      for (const [i, config] of runnable.entries()) {
        const best = Math.min(...times[i]);
        candidates.push({ key: configKey(config), ms: best, config });
        this.options.log?.(
          `tune ${bucket}: ${configKey(config)} best ${best.toFixed(2)} ms, median ${median(times[i]).toFixed(2)} ms`,
        );
      }
    } finally {
      timer.destroy();
      a.destroy();
      b.destroy();
      c.destroy();
    }
    if (!candidates.length)
      throw new Error(`matmul tuner: no config of the tuning space fits ${bucket} on this device`);
    candidates.sort((x, y) => x.ms - y.ms);
    const best = candidates[0];
    const entry: TuningEntry<MatmulConfig> = {
      config: best.config,
      ms: best.ms,
      shape: { m: r.m, n: r.n, k: r.k },
      tunedAt: new Date().toISOString(),
      candidates: candidates.map(({ key, ms }) => ({ key, ms: Math.round(ms * 1000) / 1000 })),
    };
    this.options.log?.(`tune ${bucket}: chose ${best.key} (${best.ms.toFixed(2)} ms)`);
    this.known.set(bucket, entry);
    await this.store.put(bucket, entry);
    return best.config;
  }
}

// `npm run bench:scheduler`: no-op jobs through the whole usine path (HTTP API → Redis →
// fair-share worker → result) against raw BullMQ (Queue.addBulk + Worker) in the same run,
// on a Redis of its own; then submit→start latency with idle workers.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { integer, withUsageErrors } from '../kernels/cli.ts';
import cliProgress from 'cli-progress';
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { jobSpec } from '../shared/job-spec.ts';
import { queuedSpec } from '../shared/queues.ts';
import { ensureRedis } from '../shared/redis-server.ts';
import { connectRedis, redisAnswers } from '../shared/redis.ts';
import { UsineClient } from '../client/client.ts';
import { startTs } from '../test/support/processes.ts';
import { onInterrupt } from './support/on-interrupt.ts';

const program = new Command('npm run bench:scheduler --')
  .description(
    'Throughput and latency of usine against raw BullMQ, measured in the same run: no-op jobs through the ' +
      'whole usine path (HTTP API, Redis, fair-share worker, result) against BullMQ alone, on a Redis of its ' +
      'own started on --port; then submit-to-start latency with idle workers.',
  )
  .option('--jobs <n>', 'no-op jobs per throughput run', integer(1), 20_000)
  .option('--batch <n>', 'jobs per submit request', integer(1), 1000)
  .option('--concurrency <n>', 'worker concurrency (both)', integer(1), 100)
  .option('--warmup-jobs <n>', 'jobs through each of the three before the counted rounds (0: none)', integer(0), 5000)
  .option('--rounds <n>', 'rounds of the three throughput runs; medians are reported', integer(1), 5)
  .option('--latency-jobs <n>', 'jobs submitted one at a time for the latency figure', integer(1), 300)
  .option('--port <n>', 'first port to use (Redis, API, worker metrics)', integer(1), 8830)
  .option('--json <file>', 'write the figures as JSON')
  .option('--redis-stats', 'print the Redis commands per job of each run (from INFO commandstats)')
  .option('--cpu-prof <dir>', 'write V8 CPU profiles of the scheduler and worker processes to this folder')
  .addHelpText(
    'after',
    `
Examples:
  npm run bench:scheduler
  npm run bench:scheduler -- --jobs 2000 --rounds 1 --warmup-jobs 0 --json sched.json`,
  );
withUsageErrors(program).parse();
const o = program.opts();

const redisUrl = `redis://127.0.0.1:${o.port}`;
// A Redis of its own, always fresh: one left over (an interrupted run) holds old queues and
// jobs that would skew every figure.
if (await redisAnswers(redisUrl)) {
  console.error(
    `bench:scheduler: a Redis already answers at 127.0.0.1:${o.port} (left over from an interrupted run?). Stop it (redis-cli -p ${o.port} shutdown nosave) or pass --port.`,
  );
  process.exit(2);
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usine-bench-'));
const redis = await ensureRedis(redisUrl, dir);
// Interrupted (Ctrl-C, a timeout): take the Redis and the usine processes down too.
const stopping: (() => Promise<unknown>)[] = [() => redis.stop()];
onInterrupt(async () => {
  await Promise.allSettled(stopping.map((f) => f()));
  fs.rmSync(dir, { recursive: true, force: true });
});

/** CPU seconds (user + system) a process has used: from /proc on Linux, INFO for Redis. */
function procCpu(pid: number | undefined): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}
const selfCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
async function redisCpu(): Promise<number> {
  const c = connectRedis(redisUrl);
  const info = await c.info('cpu');
  c.disconnect();
  const num = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return num('used_cpu_user') + num('used_cpu_sys');
}
/** Calls and microseconds per command so far (commands run inside Lua scripts count too, and their time counts in the script's as well). */
async function redisCalls(): Promise<Map<string, { calls: number; usec: number }>> {
  const c = connectRedis(redisUrl);
  const info = await c.info('commandstats');
  c.disconnect();
  return new Map(
    [...info.matchAll(/^cmdstat_(\S+?):calls=(\d+),usec=(\d+)/gm)].map((m) => [
      m[1],
      { calls: Number(m[2]), usec: Number(m[3]) },
    ]),
  );
}
function printRedisCalls(
  label: string,
  a: Map<string, { calls: number; usec: number }>,
  b: Map<string, { calls: number; usec: number }>,
): void {
  const per = [...b]
    .map(([k, v]) => ({
      k,
      calls: (v.calls - (a.get(k)?.calls ?? 0)) / o.jobs,
      usec: (v.usec - (a.get(k)?.usec ?? 0)) / o.jobs,
    }))
    .filter((x) => x.calls >= 0.01);
  per.sort((x, y) => y.usec - x.usec);
  console.log(
    `Redis calls per job (µs per job) — ${label}: ${per.map((x) => `${x.k} ${x.calls.toFixed(2)} (${x.usec.toFixed(1)})`).join(', ')}`,
  );
}

/** CPU microseconds per job of each process between two readings. */
const perJob = (a: Record<string, number>, b: Record<string, number>, jobs: number) =>
  Object.fromEntries(Object.keys(a).map((k) => [k, Math.round(((b[k] - a[k]) / jobs) * 1e6)]));

const bar = (label: string, total: number) => {
  const b = new cliProgress.SingleBar(
    { format: `${label.padEnd(8)} {bar} {value}/{total} jobs`, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  b.start(total, 0);
  return b;
};

/** The options and data size of a usine job, for the like-for-like BullMQ run. */
const usineLikeJob = {
  data: { spec: queuedSpec(jobSpec.parse({ type: 'noop', params: {} })), tenant: 'default' },
  // usine's default priority 0: BullMQ's plain FIFO list, no BullMQ priority.
  opts: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { age: 86_400 },
    removeOnFail: { age: 86_400 },
  },
};

async function rawBullmq(
  like: 'plain' | 'usine-options',
  jobs: number = o.jobs,
): Promise<{ jobsPerSec: number; cpuMicrosPerJob: Record<string, number> }> {
  const connection = connectRedis(redisUrl);
  const name = like === 'plain' ? 'raw' : 'rawlike';
  const q = new Queue(name, { connection, prefix: 'raw' });
  let done = 0;
  const progress = bar(like === 'plain' ? 'bullmq' : 'bullmq+', jobs);
  const workerConnection = connectRedis(redisUrl);
  const finished = new Promise<void>((resolve, reject) => {
    const w = new Worker(name, async () => ({}), {
      connection: workerConnection,
      prefix: 'raw',
      concurrency: o.concurrency,
    });
    w.on('completed', () => {
      if (++done % 500 === 0) progress.update(done);
      if (done === jobs) w.close().then(resolve, reject);
    });
  });
  const cpu = async () => ({ node: selfCpu(), redis: await redisCpu() });
  const c0 = await cpu();
  const t0 = performance.now();
  for (let i = 0; i < jobs; i += o.batch) {
    const job = () =>
      like === 'plain'
        ? { name: 'noop', data: {}, opts: { removeOnComplete: true } }
        : { name: 'noop', ...usineLikeJob, opts: { ...usineLikeJob.opts, jobId: randomUUID() } };
    await q.addBulk(Array.from({ length: Math.min(o.batch, jobs - i) }, job));
  }
  await finished;
  const s = (performance.now() - t0) / 1000;
  const c1 = await cpu();
  progress.update(jobs);
  progress.stop();
  await dropFinished(q);
  await q.close();
  // BullMQ does not close connections it was given.
  connection.disconnect();
  workerConnection.disconnect();
  return { jobsPerSec: jobs / s, cpuMicrosPerJob: perJob(c0, c1, jobs) };
}

/**
 * Removes a run's finished jobs (kept by retention): every run starts from the same Redis.
 * Hundreds of thousands of kept jobs slow Redis down for whichever run comes next.
 */
async function dropFinished(q: Queue): Promise<void> {
  while ((await q.clean(0, 10_000, 'completed')).length > 0);
}

interface Run {
  jobsPerSec: number;
  cpuMicrosPerJob: Record<string, number>;
}

/** The usine processes (scheduler, one worker), started once for all rounds. */
async function startUsine() {
  const env = { REDIS_URL: redisUrl, USINE_QUEUE_PREFIX: 'bench', USINE_PORT: String(o.port + 1), LOG_LEVEL: 'warn' };
  const prof: string[] = o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(o.cpuProf)}`] : [];
  const scheduler = await startTs(
    'scheduler/main.ts',
    { ...env, LOG_LEVEL: 'info' },
    /scheduler listening/,
    30_000,
    prof,
  );
  const worker = await startTs(
    'worker/main.ts',
    {
      ...env,
      LOG_LEVEL: 'info',
      USINE_WORKER_METRICS_PORT: String(o.port + 2),
      USINE_WORKER_CONCURRENCY: String(o.concurrency),
    },
    /worker ready/,
    30_000,
    prof,
  );
  const client = new UsineClient({ url: `http://127.0.0.1:${o.port + 1}` });
  const counter = connectRedis(redisUrl);
  // The queue usine puts the default tenant's unconstrained jobs in.
  const queue = new Queue('t.default.any', { connection: counter, prefix: 'bench' });
  const completed = () => counter.zcard('bench:t.default.any:completed');
  const cpu = async () => ({
    scheduler: procCpu(scheduler.proc.pid),
    worker: procCpu(worker.proc.pid),
    client: selfCpu(),
    redis: await redisCpu(),
  });

  /** One throughput run: batch submits through the API until every job completed. */
  async function throughput(jobs: number = o.jobs): Promise<Run & { submitPerSec: number }> {
    // Relative to what is there already: earlier rounds (or an earlier run's Redis) keep finished jobs.
    const before = await completed();
    const progress = bar('usine', jobs);
    const c0 = await cpu();
    const t0 = performance.now();
    for (let i = 0; i < jobs; i += o.batch) {
      await client.submitBatch(
        Array.from({ length: Math.min(o.batch, jobs - i) }, () => ({ type: 'noop' as const, params: {} })),
      );
    }
    const submitSeconds = (performance.now() - t0) / 1000;
    for (let n = (await completed()) - before; n < jobs; n = (await completed()) - before) {
      progress.update(n);
      await new Promise((r) => setTimeout(r, 20));
    }
    const jobsPerSec = jobs / ((performance.now() - t0) / 1000);
    const cpuMicrosPerJob = perJob(c0, await cpu(), jobs);
    progress.update(jobs);
    progress.stop();
    await dropFinished(queue);
    return { jobsPerSec, cpuMicrosPerJob, submitPerSec: jobs / submitSeconds };
  }

  /** Latency with idle workers: one job at a time, submit (client clock) → start (worker's processedOn). */
  async function latency(): Promise<{ p50: number; p99: number }> {
    const lat: number[] = [];
    const lbar = bar('latency', o.latencyJobs);
    for (let i = 0; i < o.latencyJobs; i++) {
      const sent = Date.now();
      const { id } = await client.submit({ type: 'noop', params: {} });
      const v = await client.wait(id, { intervalMs: 2 });
      lat.push(Date.parse(v.startedAt!) - sent);
      lbar.update(i + 1);
    }
    lbar.stop();
    lat.sort((a, b) => a - b);
    const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] ?? NaN;
    return { p50: pct(50), p99: pct(99) };
  }

  async function stop() {
    await queue.close();
    counter.disconnect();
    await Promise.all([worker.stop(), scheduler.stop()]);
  }
  stopping.push(() => Promise.all([worker.stop(), scheduler.stop()]));
  return { throughput, latency, stop };
}

/** The round with the median throughput (its CPU figures go with it). */
function median<T extends Run>(runs: T[]): T {
  return [...runs].sort((a, b) => a.jobsPerSec - b.jobsPerSec)[Math.floor((runs.length - 1) / 2)];
}

try {
  console.log(
    `bench:scheduler — ${o.jobs} no-op jobs, batches of ${o.batch}, worker concurrency ${o.concurrency}, ${o.warmupJobs} warm-up jobs then ${o.rounds} rounds, ${os.cpus().length} CPUs`,
  );
  const u = await startUsine();
  const plain: Run[] = [];
  const like: Run[] = [];
  const ours: (Run & { submitPerSec: number })[] = [];
  let submitToStartMs;
  try {
    // A warm-up of each, not counted: fresh processes run their first thousands of jobs on
    // cold (unoptimised) code.
    if (o.warmupJobs > 0) {
      await rawBullmq('plain', o.warmupJobs);
      await rawBullmq('usine-options', o.warmupJobs);
      await u.throughput(o.warmupJobs);
    }
    // Rounds alternate the three so that load from elsewhere lands on all of them alike.
    for (let r = 0; r < o.rounds; r++) {
      const r0 = o.redisStats ? await redisCalls() : null;
      plain.push(await rawBullmq('plain'));
      const r1 = o.redisStats ? await redisCalls() : null;
      like.push(await rawBullmq('usine-options'));
      const r2 = o.redisStats ? await redisCalls() : null;
      ours.push(await u.throughput());
      if (r0 && r1 && r2) {
        printRedisCalls('raw BullMQ', r0, r1);
        printRedisCalls('BullMQ, usine options', r1, r2);
        printRedisCalls('usine', r2, await redisCalls());
      }
      console.log(
        `round ${r + 1}: raw BullMQ ${plain[r].jobsPerSec.toFixed(0)} jobs/s · with usine's options ${like[r].jobsPerSec.toFixed(0)} · usine ${ours[r].jobsPerSec.toFixed(0)} (${(ours[r].jobsPerSec / plain[r].jobsPerSec).toFixed(2)}×)`,
      );
    }
    submitToStartMs = await u.latency();
  } finally {
    await u.stop();
  }
  const bullmq = median(plain);
  const bullmqLike = median(like);
  const usine = { ...median(ours), submitToStartMs };
  const cpuLine = (c: Record<string, number>) =>
    Object.entries(c)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') + ` (total ${Object.values(c).reduce((a, b) => a + b, 0)})`;
  console.log(`\nmedians of ${o.rounds} rounds:`);
  console.log(`raw BullMQ (addBulk + Worker):       ${bullmq.jobsPerSec.toFixed(0)} jobs/s`);
  console.log(
    `  with usine's job options and data:  ${bullmqLike.jobsPerSec.toFixed(0)} jobs/s (retries with backoff, retention by age, own ids)`,
  );
  // The ratio is the median of each round's own ratio: a round's runs are seconds apart, so
  // load that comes and goes affects both sides of a ratio alike.
  const pairedRatio = (base: Run[]) => {
    const ratios = ours.map((u, r) => u.jobsPerSec / base[r].jobsPerSec).sort((a, b) => a - b);
    return ratios[Math.floor((ratios.length - 1) / 2)];
  };
  const ratio = pairedRatio(plain);
  const ratioVsUsineOptions = pairedRatio(like);
  console.log(
    `usine (API → Redis → worker → done): ${usine.jobsPerSec.toFixed(0)} jobs/s  = ${ratio.toFixed(2)}× BullMQ (cost ${(1 / ratio).toFixed(2)}×; median of the rounds' ratios)`,
  );
  console.log(
    `  against BullMQ with usine's options: ${ratioVsUsineOptions.toFixed(2)}× (cost ${(1 / ratioVsUsineOptions).toFixed(2)}×)`,
  );
  console.log(`  (its HTTP batch submits alone: ${usine.submitPerSec.toFixed(0)} jobs/s)`);
  console.log(`CPU µs per job — raw BullMQ: ${cpuLine(bullmq.cpuMicrosPerJob)}`);
  console.log(`CPU µs per job — BullMQ with usine's options: ${cpuLine(bullmqLike.cpuMicrosPerJob)}`);
  console.log(`CPU µs per job — usine:      ${cpuLine(usine.cpuMicrosPerJob)}`);
  console.log(
    `usine submit→start with idle workers: p50 ${submitToStartMs.p50} ms, p99 ${submitToStartMs.p99} ms (${o.latencyJobs} jobs, one at a time)`,
  );
  if (o.json)
    fs.writeFileSync(
      o.json,
      JSON.stringify(
        {
          usine,
          bullmq,
          bullmqWithUsineOptions: bullmqLike,
          ratio,
          ratioVsUsineOptions,
          rounds: { usine: ours, bullmq: plain, bullmqWithUsineOptions: like },
        },
        null,
        2,
      ) + '\n',
    );
} finally {
  await redis.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}

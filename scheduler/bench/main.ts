// `npm run bench:scheduler`: no-op jobs through the whole usine path (HTTP API → Redis →
// fair-share worker → result) against raw BullMQ (Queue.addBulk + Worker) in the same run,
// on a Redis of its own; then submit→start latency with idle workers.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import cliProgress from 'cli-progress';
import { Queue, Worker } from 'bullmq';
import { ensureRedis } from '../../shared/redis-server.ts';
import { connectRedis } from '../../shared/redis.ts';
import { UsineClient } from '../../client/client.ts';
import { startTs } from '../../test/support/processes.ts';

const program = new Command('bench:scheduler')
  .description('Throughput and latency of usine against raw BullMQ, measured in the same run.')
  .option('--jobs <n>', 'no-op jobs per throughput run', (v) => Number(v), 20_000)
  .option('--batch <n>', 'jobs per submit request', (v) => Number(v), 1000)
  .option('--concurrency <n>', 'worker concurrency (both)', (v) => Number(v), 100)
  .option('--latency-jobs <n>', 'jobs submitted one at a time for the latency figure', (v) => Number(v), 300)
  .option('--port <n>', 'first port to use (Redis, API, worker metrics)', (v) => Number(v), 8830)
  .option('--json <file>', 'write the figures as JSON')
  .parse();
const o = program.opts();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usine-bench-'));
const redisUrl = `redis://127.0.0.1:${o.port}`;
const redis = await ensureRedis(redisUrl, dir);
const bar = (label: string, total: number) => {
  const b = new cliProgress.SingleBar({ format: `${label.padEnd(8)} {bar} {value}/{total} jobs`, stream: process.stderr }, cliProgress.Presets.shades_classic);
  b.start(total, 0);
  return b;
};

async function rawBullmq(): Promise<number> {
  const connection = connectRedis(redisUrl);
  const q = new Queue('raw', { connection, prefix: 'raw' });
  let done = 0;
  const progress = bar('bullmq', o.jobs);
  const finished = new Promise<void>((resolve) => {
    const w = new Worker('raw', async () => ({}), { connection: connectRedis(redisUrl), prefix: 'raw', concurrency: o.concurrency });
    w.on('completed', () => {
      if (++done % 500 === 0) progress.update(done);
      if (done === o.jobs) void w.close().then(resolve);
    });
  });
  const t0 = performance.now();
  for (let i = 0; i < o.jobs; i += o.batch) {
    await q.addBulk(Array.from({ length: Math.min(o.batch, o.jobs - i) }, () => ({ name: 'noop', data: {}, opts: { removeOnComplete: true } })));
  }
  await finished;
  const s = (performance.now() - t0) / 1000;
  progress.update(o.jobs);
  progress.stop();
  await q.close();
  connection.disconnect();
  return o.jobs / s;
}

async function usine() {
  const env = { REDIS_URL: redisUrl, USINE_QUEUE_PREFIX: 'bench', USINE_PORT: String(o.port + 1), LOG_LEVEL: 'warn' };
  const scheduler = await startTs('scheduler/main.ts', { ...env, LOG_LEVEL: 'info' }, /scheduler listening/);
  const worker = await startTs('worker/main.ts', { ...env, LOG_LEVEL: 'info', USINE_WORKER_METRICS_PORT: String(o.port + 2), USINE_WORKER_CONCURRENCY: String(o.concurrency) }, /worker ready/);
  const client = new UsineClient({ url: `http://127.0.0.1:${o.port + 1}` });
  const counter = connectRedis(redisUrl);
  const completed = () => counter.zcard('bench:t.default.any:completed');
  try {
    const progress = bar('usine', o.jobs);
    const t0 = performance.now();
    for (let i = 0; i < o.jobs; i += o.batch) {
      await client.submitBatch(Array.from({ length: Math.min(o.batch, o.jobs - i) }, () => ({ type: 'noop' as const, params: {} })));
    }
    for (let n = await completed(); n < o.jobs; n = await completed()) {
      progress.update(n);
      await new Promise((r) => setTimeout(r, 20));
    }
    const jobsPerSec = o.jobs / ((performance.now() - t0) / 1000);
    progress.update(o.jobs);
    progress.stop();

    // Latency with idle workers: one job at a time, submit (client clock) → start (worker's processedOn).
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
    const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))];
    return { jobsPerSec, submitToStartMs: { p50: pct(50), p99: pct(99) } };
  } finally {
    counter.disconnect();
    await Promise.all([worker.stop(), scheduler.stop()]);
  }
}

try {
  console.log(`bench:scheduler — ${o.jobs} no-op jobs, batches of ${o.batch}, worker concurrency ${o.concurrency}, ${os.cpus().length} CPUs`);
  const bullmq = { jobsPerSec: await rawBullmq() };
  const u = await usine();
  console.log(`raw BullMQ (addBulk + Worker):       ${bullmq.jobsPerSec.toFixed(0)} jobs/s`);
  console.log(`usine (API → Redis → worker → done): ${u.jobsPerSec.toFixed(0)} jobs/s  = ${(u.jobsPerSec / bullmq.jobsPerSec).toFixed(2)}× BullMQ (cost ${(bullmq.jobsPerSec / u.jobsPerSec).toFixed(2)}×)`);
  console.log(`usine submit→start with idle workers: p50 ${u.submitToStartMs.p50} ms, p99 ${u.submitToStartMs.p99} ms (${o.latencyJobs} jobs, one at a time)`);
  if (o.json) fs.writeFileSync(o.json, JSON.stringify({ usine: u, bullmq }, null, 2) + '\n');
} finally {
  await redis.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}

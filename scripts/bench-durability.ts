// `npm run bench:durability`: what USINE_SUBMIT_DURABILITY=replica costs. A primary and a replica
// of its own, one scheduler per setting (no worker: submits only), and for each: single-job
// submits from concurrent clients (jobs/s, p50 and p99 latency) and batch submits (jobs/s).
import { Command } from 'commander';
import { integer, withUsageErrors } from '../kernels/cli.ts';
import { startTs, type Child } from '../test/support/processes.ts';
import { startRedis, stopAll, type RedisProc } from '../test/support/redis-servers.ts';

const program = new Command('npm run bench:durability --')
  .description(
    'Submit throughput and latency with USINE_SUBMIT_DURABILITY=none and =replica, on a primary and a ' +
      'replica of its own (ports --port and --port+1; schedulers on --port+2 and --port+3).',
  )
  .option('--seconds <n>', 'seconds per measurement', integer(1), 5)
  .option('--clients <n>', 'concurrent clients submitting one job at a time', integer(1), 16)
  .option('--batch <n>', 'jobs per batch submit', integer(1), 100)
  .option('--port <n>', 'first port to use', integer(1), 8625)
  .addHelpText('after', '\nExample:\n  npm run bench:durability -- --seconds 5 --clients 16');
withUsageErrors(program).parse();
const o = program.opts<{ seconds: number; clients: number; batch: number; port: number }>();

const redis: RedisProc[] = [];
const schedulers: Child[] = [];
try {
  redis.push(await startRedis(o.port, ['--port', String(o.port), '--appendonly', 'yes']));
  redis.push(await startRedis(o.port + 1, ['--port', String(o.port + 1), '--replicaof', '127.0.0.1', String(o.port)]));
  const rows: Record<string, string | number>[] = [];
  for (const [i, mode] of (['none', 'replica'] as const).entries()) {
    const port = o.port + 2 + i;
    schedulers.push(
      await startTs(
        'scheduler/main.ts',
        {
          REDIS_URL: `redis://127.0.0.1:${o.port}`,
          USINE_QUEUE_PREFIX: `durability-${mode}`,
          USINE_PORT: String(port),
          USINE_SUBMIT_DURABILITY: mode,
        },
        /scheduler listening/,
      ),
    );
    const url = `http://127.0.0.1:${port}`;
    const single = await measure(url, 1);
    const batch = await measure(url, o.batch);
    rows.push({
      durability: mode,
      'single jobs/s': Math.round(single.jobsPerSec),
      'p50 ms': single.p50.toFixed(2),
      'p99 ms': single.p99.toFixed(2),
      [`batch(${o.batch}) jobs/s`]: Math.round(batch.jobsPerSec),
      'primary-only answers': single.primaryOnly + batch.primaryOnly,
    });
  }
  console.table(rows);
} finally {
  await Promise.all(schedulers.map((s) => s.stop()));
  await stopAll(redis);
}

/** `o.clients` clients submitting `size` jobs a request for `o.seconds`. */
async function measure(url: string, size: number) {
  const body = JSON.stringify(
    size === 1
      ? { type: 'noop', params: {} }
      : { jobs: Array.from({ length: size }, () => ({ type: 'noop', params: {} })) },
  );
  const path = size === 1 ? '/v1/jobs' : '/v1/jobs/batch';
  const latencies: number[] = [];
  let primaryOnly = 0;
  const end = performance.now() + o.seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: o.clients }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        await res.arrayBuffer();
        if (res.status !== 201) throw new Error(`submit answered ${res.status}`);
        if (res.headers.get('usine-durability') === 'primary-only') primaryOnly++;
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { jobsPerSec: (latencies.length * size) / seconds, p50: at(0.5), p99: at(0.99), primaryOnly };
}

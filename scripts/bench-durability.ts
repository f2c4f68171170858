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
  .option('--rounds <n>', 'rounds, alternating the two settings; medians are reported', integer(1), 3)
  .option('--port <n>', 'first port to use', integer(1), 8625)
  .addHelpText('after', '\nExample:\n  npm run bench:durability -- --seconds 3 --clients 16 --rounds 3');
withUsageErrors(program).parse();
const o = program.opts<{ seconds: number; clients: number; batch: number; rounds: number; port: number }>();

const redis: RedisProc[] = [];
const schedulers: Child[] = [];
try {
  redis.push(await startRedis(o.port, ['--port', String(o.port), '--appendonly', 'yes']));
  redis.push(await startRedis(o.port + 1, ['--port', String(o.port + 1), '--replicaof', '127.0.0.1', String(o.port)]));
  const modes = ['none', 'replica'] as const;
  for (const [i, mode] of modes.entries()) {
    schedulers.push(
      await startTs(
        'scheduler/main.ts',
        {
          REDIS_URL: `redis://127.0.0.1:${o.port}`,
          USINE_QUEUE_PREFIX: `durability-${mode}`,
          USINE_PORT: String(o.port + 2 + i),
          USINE_SUBMIT_DURABILITY: mode,
        },
        /scheduler listening/,
      ),
    );
  }
  const url = (i: number) => `http://127.0.0.1:${o.port + 2 + i}`;
  // Warm both up (JIT, connections) before anything counts.
  for (const i of modes.keys()) await measure(url(i), 1, 1);
  // Rounds alternate the two, so load from elsewhere on the machine falls on both alike.
  const runs = modes.map(() => [] as { single: Figures; batch: Figures }[]);
  for (let r = 0; r < o.rounds; r++)
    for (const i of modes.keys())
      runs[i]!.push({ single: await measure(url(i), 1), batch: await measure(url(i), o.batch) });
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const rows = modes.map((mode, i) => {
    const rs = runs[i]!;
    return {
      durability: mode,
      'single jobs/s': Math.round(median(rs.map((r) => r.single.jobsPerSec))),
      'p50 ms': median(rs.map((r) => r.single.p50)).toFixed(2),
      'p99 ms': median(rs.map((r) => r.single.p99)).toFixed(2),
      [`batch(${o.batch}) jobs/s`]: Math.round(median(rs.map((r) => r.batch.jobsPerSec))),
      'primary-only answers': rs.reduce((n, r) => n + r.single.primaryOnly + r.batch.primaryOnly, 0),
    };
  });
  console.log(`medians of ${o.rounds} rounds, ${o.seconds} s each, ${o.clients} client(s):`);
  console.table(rows);
} finally {
  await Promise.all(schedulers.map((s) => s.stop()));
  await stopAll(redis);
}

interface Figures {
  jobsPerSec: number;
  p50: number;
  p99: number;
  primaryOnly: number;
}

/** `o.clients` clients submitting `size` jobs a request for `seconds`. */
async function measure(url: string, size: number, seconds: number = o.seconds): Promise<Figures> {
  const body = JSON.stringify(
    size === 1
      ? { type: 'noop', params: {} }
      : { jobs: Array.from({ length: size }, () => ({ type: 'noop', params: {} })) },
  );
  const path = size === 1 ? '/v1/jobs' : '/v1/jobs/batch';
  const latencies: number[] = [];
  let primaryOnly = 0;
  const end = performance.now() + seconds * 1000;
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
  const took = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { jobsPerSec: (latencies.length * size) / took, p50: at(0.5), p99: at(0.99), primaryOnly };
}

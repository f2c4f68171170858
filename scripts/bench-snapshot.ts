// `npm run bench:snapshot`: what the dispatch round's snapshot (ActiveQueues.snapshot, one Lua
// script over the active-queue index) costs as the indexed queues grow. A script blocks Redis
// while it runs, so its time in Redis is time no other client is served: the figure that bounds
// how many queues with work one installation can hold before rounds crowd out the jobs.
import { Command } from 'commander';
import { integer, withUsageErrors } from '../kernels/cli.ts';
import { connectRedis } from '../shared/redis.ts';
import { ActiveQueues } from '../scheduler/queue/active-queues.ts';
import { Keys } from '../scheduler/state/keys.ts';
import { onInterrupt } from './support/on-interrupt.ts';
import { ownRedis } from './support/own-redis.ts';

const program = new Command('npm run bench:snapshot --')
  .description(
    "The dispatch round's snapshot script against the number of indexed queues, each holding one waiting " +
      'job, on a Redis of its own: wall time per call and time spent inside Redis (INFO commandstats).',
  )
  .option(
    '--queues <list>',
    'indexed queue counts, comma-separated',
    (v: string) => v.split(',').map((x) => integer(1)(x.trim())),
    [1000, 5000, 10000],
  )
  .option('--calls <n>', 'snapshots timed per count', integer(1), 20)
  .addHelpText(
    'after',
    `
Examples:
  npm run bench:snapshot
  npm run bench:snapshot -- --queues 500,2000 --calls 50`,
  );
withUsageErrors(program).parse();
const o = program.opts<{ queues: number[]; calls: number }>();

const { url, stop: cleanup } = await ownRedis('bench-snapshot');
onInterrupt(cleanup);
const redis = connectRedis(url);
try {
  console.log('| indexed queues | wall ms per snapshot | ms inside Redis per snapshot |\n|---|---|---|');
  for (const n of o.queues) {
    await redis.flushall();
    const keys = new Keys('snap');
    const index = new ActiveQueues(redis, keys, 'snap');
    const fill = redis.pipeline();
    for (let i = 0; i < n; i++) fill.sadd(keys.active, `q${i}`).rpush(`snap:q${i}:wait`, 'job');
    await fill.exec();
    await index.snapshot(); // loads the script
    await redis.config('RESETSTAT');
    const t0 = performance.now();
    for (let i = 0; i < o.calls; i++) await index.snapshot();
    const wall = (performance.now() - t0) / o.calls;
    const stat = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(await redis.info('commandstats'));
    const inside = stat ? Number(stat[2]) / Number(stat[1]) / 1000 : NaN;
    console.log(`| ${n} | ${wall.toFixed(1)} | ${inside.toFixed(1)} |`);
  }
} finally {
  redis.disconnect();
  await cleanup();
}

// `npm run bench:round`: what one central dispatch round (scheduler/dispatcher.ts) costs as the
// tenants with work grow, without the jobs around it: bench:scale measures rounds while workers,
// Redis and a submitter share two cores, and its figures move with the machine's load; this
// times the rounds alone, back to back, on a Redis of its own. Each tenant holds queued jobs,
// has usage, and the live workers' slots are the class's pool, so every round plans and writes
// a full list of grants, and re-reads the queues its previous grants named, as the leader does
// between ticks.
import fs from 'node:fs';
import os from 'node:os';
import { Command } from 'commander';
import { integer, withUsageErrors } from '../kernels/cli.ts';
import { createLogger } from '../shared/logger.ts';
import { jobSpec, requirements } from '../shared/job-spec.ts';
import { connectRedis } from '../shared/redis.ts';
import { Dispatcher } from '../scheduler/dispatcher.ts';
import { JobStore } from '../scheduler/queue/job-store.ts';
import { TenantQueues, queueName } from '../scheduler/queue/tenant-queues.ts';
import { Keys } from '../scheduler/state/keys.ts';
import { tenantSchema } from '../scheduler/state/tenants.ts';
import { UsageLedger } from '../scheduler/state/usage.ts';
import { WorkerRegistry } from '../scheduler/state/workers.ts';
import { benchCaps } from './bench-scale/roles.ts';
import { onInterrupt } from './support/on-interrupt.ts';
import { ownRedis } from './support/own-redis.ts';

const program = new Command('npm run bench:round --')
  .description(
    'CPU and wall time of one dispatch round against the number of tenants with work, rounds back to back on a ' +
      'Redis of its own; each row against the first of the same run.',
  )
  .option(
    '--tenants <list>',
    'tenants with work, comma-separated',
    (v: string) => v.split(',').map((x) => integer(1)(x.trim())),
    [1, 10, 100, 1000],
  )
  .option('--slots <n>', "the live workers' slots: grants per round", integer(1), 800)
  .option('--rounds <n>', 'rounds timed per row', integer(1), 200)
  .option('--json <file>', 'write the figures as JSON ({ "rounds": [ ...one object per row ] })')
  .addHelpText(
    'after',
    `
Weights cycle 1–5; each tenant holds queued no-op jobs (at least 5, and twice the slots in all), and a past
usage. A row's rounds run as the
leader's between ticks do (Dispatcher.round(now, false)): the queues the previous round granted are
re-read, the usage at most every 250 ms. Redis commands per round count what the round's connection
sends (a transaction's commands one by one).

Examples:
  npm run bench:round
  npm run bench:round -- --tenants 100,1000,5000 --slots 2000 --json round.json`,
  );
withUsageErrors(program).parse();
const o = program.opts<{ tenants: number[]; slots: number; rounds: number; json?: string }>();

interface Row {
  tenants: number;
  slots: number;
  grantsPerRound: number;
  cpuMsPerRound: number;
  wallMsPerRound: number;
  redisMsPerRound: number;
  redisCommandsPerRound: number;
}

const { url, stop: cleanup } = await ownRedis('bench-round');
onInterrupt(cleanup);
const admin = connectRedis(url);
const log = createLogger('bench-round', 'warn');
const spec = jobSpec.parse({ type: 'noop', params: {} });
const rows: Row[] = [];

async function row(tenants: number): Promise<Row> {
  await admin.flushall();
  const keys = new Keys('round');
  const store = new JobStore(admin, keys, new TenantQueues(admin, keys, 'round'), 3600);
  const names = Array.from({ length: tenants }, (_, i) => `t${i}`);
  const entries = names.map((name, i) => [name, JSON.stringify(tenantSchema.parse({ name, weight: 1 + (i % 5) }))]);
  await admin.hset(keys.tenants, Object.fromEntries(entries));
  const req = requirements.parse({});
  // Enough queued work that every row's rounds grant all the slots.
  const perTenant = Math.max(5, Math.ceil((2 * o.slots) / tenants));
  const jobs = names.flatMap((tenant) =>
    Array.from({ length: perTenant }, () => ({
      spec,
      queue: { name: queueName(tenant, 'any'), tenant, cls: 'any', requirements: req },
    })),
  );
  for (let i = 0; i < jobs.length; i += 1000) await store.add(jobs.slice(i, i + 1000));
  const charges = names.map((tenant, i) => ({ tenant, seconds: i + 1, decayed: i + 1, flops: 0, jobs: 1 }));
  await new UsageLedger(admin, keys, 900).chargeMany(charges);
  const registry = new WorkerRegistry(admin, keys, 3_600_000);
  await registry.heartbeat({
    ...{ id: 'w', name: 'w', caps: benchCaps, adapter: 'bench', concurrency: o.slots, running: [] },
    ...{ startedAt: new Date().toISOString(), lastHeartbeat: '' },
  });
  const redis = connectRedis(url);
  const subscriber = connectRedis(url);
  let commands = 0;
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((...a: unknown[]) => {
    commands++;
    return (send as (...x: unknown[]) => unknown)(...a);
  }) as typeof redis.sendCommand;
  const d = new Dispatcher({
    ...{ redis, subscriber, keys, queues: new TenantQueues(redis, keys, 'round'), workers: registry },
    ...{ halfLifeSeconds: 900, catchUpSeconds: 60, log },
  });
  let granted = 0;
  try {
    // The whole index once (as the tick's round), and a few rounds to settle the JIT.
    await d.round();
    for (let i = 0; i < 20; i++) await d.round(Date.now(), false);
    await admin.config('RESETSTAT');
    commands = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < o.rounds; i++) {
      const { grants } = await d.round(Date.now(), false);
      granted += grants.get('any')?.length ?? 0;
    }
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const stats = await admin.info('commandstats');
    // Commands a script calls count under their own names too: only the top-level ones here.
    let usec = 0;
    for (const m of stats.matchAll(/^cmdstat_(\S+?):calls=\d+,usec=(\d+)/gm))
      if (['evalsha', 'exec', 'hgetall', 'hlen', 'smembers', 'get', 'set', 'publish'].includes(m[1]))
        usec += Number(m[2]);
    return {
      tenants,
      slots: o.slots,
      grantsPerRound: granted / o.rounds,
      cpuMsPerRound: (cpu.user + cpu.system) / 1000 / o.rounds,
      wallMsPerRound: wall / o.rounds,
      redisMsPerRound: usec / 1000 / o.rounds,
      redisCommandsPerRound: commands / o.rounds,
    };
  } finally {
    await d.stop();
    redis.disconnect();
    subscriber.disconnect();
  }
}

try {
  console.log(
    `bench:round — ${o.rounds} rounds per row, ${o.slots} slots, ${os.cpus().length} CPUs\n\n` +
      '| tenants with work | grants per round | CPU ms per round | vs first row | wall ms per round | ms inside Redis | ' +
      'Redis commands per round |\n|---|---|---|---|---|---|---|',
  );
  for (const t of o.tenants) {
    const r = await row(t);
    rows.push(r);
    const f = (x: number, d = 1) => x.toFixed(d);
    console.log(
      `| ${t} | ${f(r.grantsPerRound, 0)} | ${f(r.cpuMsPerRound, 2)} | ${f(r.cpuMsPerRound / rows[0].cpuMsPerRound)}× | ` +
        `${f(r.wallMsPerRound, 2)} | ${f(r.redisMsPerRound, 2)} | ${f(r.redisCommandsPerRound)} |`,
    );
  }
  if (o.json) fs.writeFileSync(o.json, JSON.stringify({ rounds: rows }, null, 2));
} finally {
  admin.disconnect();
  await cleanup();
}

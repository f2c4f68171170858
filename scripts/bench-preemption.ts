// `npm run bench:preemption`: what preemption does for fairness, shown on a real cluster (its
// own Redis, a scheduler, two workers of two slots on this machine's WebGPU device), each
// scenario run with preemption on and, where it compares, off, in the same run:
//   A  a starved newcomer: `big` fills every slot with long train jobs, `small` arrives 30 s
//      later — time to its first start, its share of slots 60–120 s after its submit, the
//      preemptions, the work lost, and whether every preempted train job resumed;
//   B  no thrash: two tenants saturating for minutes — preemptions per minute once settled;
//   C  within a tenant: a priority-900 job preempts its tenant's priority-0 job only when the
//      tenant enabled it.
// Minimum run time and grace are 10 s here (120 s and 30 s by default) so it fits in minutes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import cliProgress from 'cli-progress';
import { integer, withUsageErrors } from '../kernels/cli.ts';
import { ensureRedis } from '../shared/redis-server.ts';
import { redisAnswers } from '../shared/redis.ts';
import type { JobSpecInput } from '../shared/job-spec.ts';
import type { JobView } from '../shared/job-view.ts';
import { hashToken } from '../scheduler/state/tenants.ts';
import { UsineClient } from '../client/client.ts';
import { startTs, type Child } from '../test/support/processes.ts';
import { onInterrupt } from './support/on-interrupt.ts';

const program = new Command('npm run bench:preemption --')
  .description(
    'Preemption on a real cluster (its own Redis on --port, a scheduler, 2 workers x 2 slots), each scenario with ' +
      'preemption on and off in the same run: A (a starved newcomer against long train jobs), B (two saturating ' +
      'tenants: no thrash), C (priority within a tenant). Minimum run time and grace are 10 s.',
  )
  .option('--only <list>', 'scenarios to run, comma-separated (A,B,C)', 'A,B,C')
  .option('--b-seconds <n>', 'length of scenario B', integer(150), 300)
  .option('--port <n>', 'first port to use (Redis, API, 2 worker metrics ports)', integer(1), 8900)
  .option('--json <file>', 'write the figures as JSON')
  .option('--logs', "print the tail of the scheduler's and workers' logs after each scenario")
  .addHelpText(
    'after',
    `
Takes about 12 minutes on a 2-core machine without a GPU (lavapipe).

Examples:
  npm run bench:preemption
  npm run bench:preemption -- --only A --json preemption.json`,
  );
withUsageErrors(program).parse();
const o = program.opts<{ only: string; bSeconds: number; port: number; json?: string; logs?: boolean }>();
const only = new Set(o.only.split(',').map((s) => s.trim().toUpperCase()));
for (const s of only)
  if (!['A', 'B', 'C'].includes(s)) program.error(`error: --only: unknown scenario ${s} (use A, B, C)`);

const MIN_RUNTIME = 10;
const GRACE = 10;
const ADMIN = 'bench-preemption-admin-token';
const redisUrl = `redis://127.0.0.1:${o.port}`;
if (await redisAnswers(redisUrl)) {
  console.error(
    `bench:preemption: a Redis already answers at 127.0.0.1:${o.port} (left over from an interrupted run?). ` +
      `Stop it (redis-cli -p ${o.port} shutdown nosave) or pass --port.`,
  );
  process.exit(2);
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usine-bench-preemption-'));
const redis = await ensureRedis(redisUrl, path.join(dir, 'redis'));
let procs: Child[] = [];
const cleanup = async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await redis.stop();
  fs.rmSync(dir, { recursive: true, force: true });
};
onInterrupt(cleanup);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let run = 0;
const tenants = [
  { name: 'big' },
  { name: 'small' },
  { name: 'b1' },
  { name: 'b2' },
  { name: 'pc', preemption: { withinTenant: true } },
  { name: 'pn' },
];

/** A fresh cluster (its own key prefix and folders) with preemption on or off. */
async function cluster(preemption: 'on' | 'off') {
  const prefix = `bp${++run}`;
  const d = path.join(dir, prefix);
  fs.mkdirSync(d, { recursive: true });
  const file = path.join(d, 'tenants.json');
  fs.writeFileSync(file, JSON.stringify({ adminTokenSha256: [hashToken(ADMIN)], tenants }));
  const env = {
    REDIS_URL: redisUrl,
    USINE_QUEUE_PREFIX: prefix,
    USINE_PORT: String(o.port + 1),
    USINE_DATA_DIR: d,
    USINE_ARTIFACT_DIR: path.join(d, 'artifacts'),
    USINE_TENANTS_FILE: file,
    USINE_PREEMPTION: preemption,
    USINE_PREEMPTION_MIN_RUNTIME_SECONDS: String(MIN_RUNTIME),
    USINE_PREEMPTION_GRACE_SECONDS: String(GRACE),
  };
  const started = await Promise.allSettled([
    startTs('scheduler/main.ts', env, /scheduler listening/),
    ...[0, 1].map((i) =>
      startTs(
        'worker/main.ts',
        {
          ...env,
          USINE_WORKER_NAME: `w${i}`,
          USINE_WORKER_CONCURRENCY: '2',
          USINE_WORKER_METRICS_PORT: String(o.port + 2 + i),
        },
        /worker ready/,
        120_000,
      ),
    ),
  ]);
  // Every start has ended: keep the ones that did start, so a failure still stops them.
  procs = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  const client = new UsineClient({ url: `http://127.0.0.1:${o.port + 1}`, token: ADMIN });
  return {
    client,
    async stop() {
      if (o.logs) for (const p of procs) console.log(p.output().split('\n').slice(-40).join('\n'));
      await Promise.all(procs.map((p) => p.stop()));
      procs = [];
    },
  };
}
type Client = UsineClient;

const trainJob = (steps: number): JobSpecInput => ({
  type: 'train',
  params: {
    model: { vocabSize: 13, contextLength: 12, layers: 1, dModel: 32, heads: 2, dFF: 64 },
    data: { source: 'task', task: { kind: 'sort', length: 4 } },
    steps,
    batchSize: 8,
    schedule: { lr: 0.003, warmupSteps: 10 },
    seed: 11,
    checkpointEvery: 50,
  },
  timeoutSeconds: 7200,
});
const noop = (sleepMs: number, priority = 0): JobSpecInput => ({ type: 'noop', params: { sleepMs }, priority });

/** Running jobs per tenant, from the worker table (job ids start with their tenant). */
async function slotsByTenant(c: Client): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const w of (await c.workers()).workers)
    for (const id of w.running) out.set(id.split('.')[0], (out.get(id.split('.')[0]) ?? 0) + 1);
  return out;
}

async function until(what: string, pred: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await pred()) return true;
    await sleep(500);
  }
  console.log(`  (gave up waiting for ${what} after ${timeoutMs / 1000} s)`);
  return false;
}

/** A countdown for the long waits: a bar on a terminal, a line every 15 s otherwise. */
async function timeline(label: string, seconds: number, each: (t: number) => Promise<void>): Promise<void> {
  const bar = process.stdout.isTTY
    ? new cliProgress.SingleBar({ format: `  ${label} [{bar}] {value}/{total} s`, hideCursor: true })
    : null;
  bar?.start(seconds, 0);
  const t0 = Date.now();
  for (let t = 0; t < seconds; t++) {
    await each(t);
    bar?.update(t + 1);
    if (!bar && t % 15 === 0) console.log(`  ${label}: ${t}/${seconds} s`);
    await sleep(Math.max(0, t0 + (t + 1) * 1000 - Date.now()));
  }
  bar?.stop();
}

async function metricSum(c: Client, name: string): Promise<number> {
  const text = await (await fetch(`${c.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name + '{') || l.startsWith(name + ' '))
    .reduce((s, l) => s + Number(l.split(' ').at(-1)), 0);
}

async function cancelAll(c: Client, ids: string[]) {
  await Promise.all(ids.map((id) => c.cancel(id).catch(() => {})));
}

interface ScenarioA {
  firstStartSeconds: number;
  /** true: `small` had not started when the window ended; the figure is a lower bound. */
  firstStartCensored: boolean;
  shareAfter: number;
  preemptions?: number;
  maxPerJob?: number;
  lostDeviceSeconds?: number;
  resumedFromCheckpoint?: boolean;
}

async function scenarioA(mode: 'on' | 'off'): Promise<ScenarioA> {
  console.log(`A (starved newcomer), preemption ${mode}`);
  const { client: c, stop } = await cluster(mode);
  try {
    const big = (
      await c.submitBatch(
        [0, 1, 2, 3].map(() => trainJob(200_000)),
        { tenant: 'big' },
      )
    ).ids;
    const t0 = Date.now();
    await until('big on every slot', async () => (await slotsByTenant(c)).get('big') === 4, 120_000);
    await sleep(Math.max(0, t0 + 30_000 - Date.now()));
    const small = (
      await c.submitBatch(
        [0, 1, 2, 3].map(() => trainJob(200_000)),
        { tenant: 'small' },
      )
    ).ids;
    const submitted = Date.now();
    let first: number | null = null;
    const shares: number[] = [];
    const windowEnd = mode === 'on' ? 120 : 150;
    await timeline('A', windowEnd, async (t) => {
      const slots = await slotsByTenant(c);
      const s = slots.get('small') ?? 0;
      if (s > 0 && first === null) first = (Date.now() - submitted) / 1000;
      const busy = [...slots.values()].reduce((a, b) => a + b, 0);
      if (t >= 60 && t < 120 && busy > 0) shares.push(s / busy);
    });
    const out: ScenarioA = {
      firstStartSeconds: first ?? windowEnd,
      firstStartCensored: first === null,
      shareAfter: shares.length ? shares.reduce((a, b) => a + b, 0) / shares.length : 0,
    };
    if (mode === 'on') {
      const views = await Promise.all(big.map((id) => c.get(id)));
      const preempted = views.filter((v) => (v.preemptions ?? 0) > 0);
      out.preemptions = views.reduce((s, v) => s + (v.preemptions ?? 0), 0);
      out.maxPerJob = Math.max(0, ...views.map((v) => v.preemptions ?? 0));
      out.lostDeviceSeconds = await metricSum(c, 'usine_preempted_device_seconds_total');
      // Free the slots: the preempted big jobs start again, and must resume from their checkpoints.
      await cancelAll(c, small);
      const resumed = await Promise.all(preempted.map((v) => resumedFrom(c, v)));
      out.resumedFromCheckpoint = preempted.length > 0 && resumed.every(Boolean);
    }
    await cancelAll(c, [...big, ...small]);
    return out;
  } finally {
    await stop();
  }
}

/** Whether a preempted train job started again from a checkpoint and went on past it. */
async function resumedFrom(c: Client, before: JobView): Promise<boolean> {
  let ok = false;
  await until(
    `${before.id} to resume`,
    async () => {
      const [v, logs] = await Promise.all([c.get(before.id), c.logs(before.id)]);
      const m = logs.logs.map((l) => /resumed from step (\d+)/.exec(l)).findLast(Boolean);
      ok = !!m && Number(m[1]) > 0 && Number(v.progress?.step ?? 0) > Number(m[1]);
      return ok;
    },
    120_000,
  );
  return ok;
}

async function scenarioB(): Promise<{ preemptions: number; preemptionsPerMinuteSteady: number }> {
  console.log(`B (two saturating tenants, ${o.bSeconds} s), preemption on`);
  const { client: c, stop } = await cluster('on');
  try {
    const jobs = (n: number) => Array.from({ length: n }, () => noop(45_000));
    const ids = (await c.submitBatch(jobs(40), { tenant: 'b1' })).ids;
    await sleep(15_000);
    ids.push(...(await c.submitBatch(jobs(40), { tenant: 'b2' })).ids);
    let at120 = 0;
    await timeline('B', o.bSeconds, async (t) => {
      if (t === 120) at120 = await metricSum(c, 'usine_preemptions_total');
    });
    const total = await metricSum(c, 'usine_preemptions_total');
    await cancelAll(c, ids);
    return { preemptions: total, preemptionsPerMinuteSteady: (total - at120) / ((o.bSeconds - 120) / 60) };
  } finally {
    await stop();
  }
}

async function scenarioC(): Promise<Record<string, { preempted: boolean; startSeconds: number | null }>> {
  console.log('C (priority within a tenant), preemption on');
  const { client: c, stop } = await cluster('on');
  const out: Record<string, { preempted: boolean; startSeconds: number | null }> = {};
  try {
    for (const [tenant, label] of [
      ['pc', 'enabled'],
      ['pn', 'disabled'],
    ] as const) {
      const low = (
        await c.submitBatch(
          [0, 1, 2, 3].map(() => noop(600_000)),
          { tenant },
        )
      ).ids;
      await until(`${tenant} on every slot`, async () => (await slotsByTenant(c)).get(tenant) === 4, 60_000);
      await sleep(MIN_RUNTIME * 1000);
      const hi = (await c.submit(noop(1000, 900), { tenant })).id;
      const t0 = Date.now();
      const started = await until(
        `${label}: the priority-900 job to start`,
        async () => (await c.get(hi)).state !== 'queued',
        (GRACE + 20) * 1000,
      );
      const views = await Promise.all(low.map((id) => c.get(id)));
      out[label] = {
        preempted: views.some((v) => (v.preemptions ?? 0) > 0),
        startSeconds: started ? (Date.now() - t0) / 1000 : null,
      };
      await cancelAll(c, [...low, hi]);
      await until('slots to free', async () => (await slotsByTenant(c)).size === 0, 30_000);
    }
    return out;
  } finally {
    await stop();
  }
}

const result: {
  on: { A?: ScenarioA; B?: Awaited<ReturnType<typeof scenarioB>>; C?: Awaited<ReturnType<typeof scenarioC>> };
  off: { A?: ScenarioA };
} = { on: {}, off: {} };
try {
  if (only.has('A')) {
    result.on.A = await scenarioA('on');
    result.off.A = await scenarioA('off');
  }
  if (only.has('B')) result.on.B = await scenarioB();
  if (only.has('C')) result.on.C = await scenarioC();
} finally {
  await cleanup();
}

const f = (x: unknown) => (typeof x === 'number' ? (Number.isInteger(x) ? String(x) : x.toFixed(2)) : String(x));
console.log('\nbench:preemption (minimum run time 10 s, grace 10 s)');
if (result.on.A && result.off.A) {
  const on = result.on.A;
  const off = result.off.A;
  console.log('A  starved newcomer            on        off');
  const bound = (a: ScenarioA) => (a.firstStartCensored ? '>' : '') + f(a.firstStartSeconds);
  console.log(`   first start, s          ${bound(on).padStart(8)}  ${bound(off).padStart(8)}`);
  console.log(`   share 60–120 s after     ${f(on.shareAfter).padStart(8)}  ${f(off.shareAfter).padStart(8)}`);
  console.log(`   preemptions              ${f(on.preemptions).padStart(8)}`);
  console.log(`   most for one job         ${f(on.maxPerJob).padStart(8)}`);
  console.log(`   device-seconds lost      ${f(on.lostDeviceSeconds).padStart(8)}`);
  console.log(`   resumed from checkpoint  ${f(on.resumedFromCheckpoint).padStart(8)}`);
}
if (result.on.B) console.log(`B  preemptions/min after 2 min: ${f(result.on.B.preemptionsPerMinuteSteady)}`);
if (result.on.C) console.log(`C  ${JSON.stringify(result.on.C)}`);
if (o.json) fs.writeFileSync(o.json, JSON.stringify(result, null, 2) + '\n');

// `npm run bench:console`: how fast the web console's pages load on a 1,000-job tenant (issue 15:
// "well under a second"). It starts its own Redis, a scheduler and one worker, fills a tenant
// with --jobs jobs of every state (succeeded and failed noop jobs run by the worker, a small
// train job, a few matmuls; then, with the worker stopped, cancelled jobs, jobs failed for their
// dependency, queued jobs and jobs held for a queued one), then opens the Jobs page, a train Job page and the Tenant page in headless chromium
// --runs times each. A load is timed from the navigation's start to the page's content shown
// (the first rows; the job's curve; the tenant's usage table), in the page's own clock. Beside
// it: the API calls the page made (the browser's resource timing) and, timed from here, the
// list calls behind the pages at 100 and 1,000 jobs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import cliProgress from 'cli-progress';
import puppeteer, { type Page } from 'puppeteer-core';
import { integer, withUsageErrors } from '../kernels/cli.ts';
import { ensureRedis } from '../shared/redis-server.ts';
import { redisAnswers } from '../shared/redis.ts';
import type { JobSpecInput } from '../shared/job-spec.ts';
import { hashToken } from '../scheduler/state/tenants.ts';
import { UsineClient } from '../client/client.ts';
import { startTs, type Child } from '../test/support/processes.ts';
import { onInterrupt } from './support/on-interrupt.ts';

const CHROMIUM = '/usr/bin/chromium';
const program = new Command('npm run bench:console --')
  .description(
    "The web console's page loads on a tenant of --jobs jobs (its own Redis on --port, a scheduler, one worker): " +
      'the Jobs page, a train Job page and the Tenant page in headless chromium, median of --runs loads each, ' +
      'with the API calls behind them.',
  )
  .option('--jobs <n>', 'jobs in the tenant', integer(20), 1000)
  .option('--runs <n>', 'loads of each page (the median is reported; the first is a cold cache)', integer(1), 7)
  .option('--port <n>', 'first port to use (Redis, API, worker metrics)', integer(1), 8960)
  .option('--json <file>', 'write the figures as JSON')
  .addHelpText(
    'after',
    `
Takes about 2 minutes on a 2-core machine without a GPU (lavapipe); needs ${CHROMIUM}
(bash scripts/setup-system.sh installs it).

Examples:
  npm run bench:console
  npm run bench:console -- --jobs 200 --runs 3 --json console.json`,
  );
withUsageErrors(program).parse();
const o = program.opts<{ jobs: number; runs: number; port: number; json?: string }>();
if (!fs.existsSync(CHROMIUM)) {
  console.error(`bench:console: no ${CHROMIUM}: install it with bash scripts/setup-system.sh (as root)`);
  process.exit(2);
}
const redisUrl = `redis://127.0.0.1:${o.port}`;
if (await redisAnswers(redisUrl)) {
  console.error(
    `bench:console: a Redis already answers at 127.0.0.1:${o.port} (left over from an interrupted run?). ` +
      `Stop it (redis-cli -p ${o.port} shutdown nosave) or pass --port.`,
  );
  process.exit(2);
}

const TOKEN = 'bench-console-tenant-token';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usine-bench-console-'));
const redis = await ensureRedis(redisUrl, path.join(dir, 'redis'));
const procs: Child[] = [];
let browser: Awaited<ReturnType<typeof puppeteer.launch>> | undefined;
const cleanup = async () => {
  await browser?.close().catch(() => {});
  await Promise.all(procs.map((p) => p.stop()));
  await redis.stop();
  fs.rmSync(dir, { recursive: true, force: true });
};
onInterrupt(cleanup);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (x: number) => `${Math.round(x)} ms`;

/** A progress bar on a terminal; elsewhere (a log, a pipe) a line whenever the step changes. */
interface Progress {
  update(value: number, what: string): void;
}
let bars: cliProgress.MultiBar | undefined;
function progress(task: string, total: number): Progress {
  if (process.stdout.isTTY) {
    bars ??= new cliProgress.MultiBar(
      { format: ' {task} [{bar}] {value}/{total} {what}', hideCursor: true, clearOnComplete: false },
      cliProgress.Presets.shades_classic,
    );
    const bar = bars.create(total, 0, { task, what: '' });
    return { update: (value, what) => bar.update(value, { what }) };
  }
  let last = '';
  return {
    update(value, what) {
      const step = what.replace(/^\d+ /, 'n ');
      if (step !== last) console.log(` ${task} ${value}/${total} ${what}`);
      last = step;
    },
  };
}

/** The tenant's jobs by what they end as; queued is what is left of --jobs. */
function plan(n: number) {
  const succeeded = Math.round(n * 0.55);
  const failed = Math.round(n * 0.05); // a 1 s timeout on a 3 s noop: failed by the worker
  const dependencyFailed = Math.round(n * 0.05); // dependsOn a cancelled job: failed by the scheduler
  const cancelled = Math.round(n * 0.1);
  const matmul = Math.round(n * 0.02);
  const held = Math.round(n * 0.02); // dependsOn a queued job: held by the scheduler (state queued)
  const queued = n - 1 - succeeded - failed - dependencyFailed - cancelled - matmul;
  return { train: 1, succeeded, matmul, failed, dependencyFailed, cancelled, queued, held };
}

async function fill(client: UsineClient, worker: Child, bar: Progress): Promise<{ trainId: string }> {
  const p = plan(o.jobs);
  const noop = (sleepMs: number, extra: Partial<JobSpecInput> = {}) =>
    ({ type: 'noop', params: { sleepMs }, ...extra }) as JobSpecInput;
  const batch = (specs: JobSpecInput[]) => client.submitBatch(specs);
  // First what the worker runs…
  const train = await client.submit({
    type: 'train',
    params: {
      model: { vocabSize: 16, contextLength: 16, layers: 1, dModel: 32, heads: 2, dFF: 64 },
      data: { source: 'task', task: { kind: 'sort', length: 4 } },
      steps: 300,
      batchSize: 16,
      evalEvery: 50,
      checkpointEvery: 100,
    },
  } as JobSpecInput);
  await batch(Array.from({ length: p.succeeded }, () => noop(0)));
  await batch(
    Array.from({ length: p.matmul }, (_, i) => ({
      type: 'matmul',
      params: { m: 32 + i, n: 32, k: 32, seed: i, repeats: 1 },
    })) as JobSpecInput[],
  );
  await batch(Array.from({ length: p.failed }, () => noop(3000, { timeoutSeconds: 1, attempts: 1 })));
  const ran = 1 + p.succeeded + p.matmul + p.failed;
  for (;;) {
    const open = (await client.list({ limit: 1000, state: 'queued' })).jobs.length;
    const running = (await client.list({ limit: 1000, state: 'running' })).jobs.length;
    bar.update(ran - open - running, `${open + running} to finish`);
    if (open + running === 0) break;
    await sleep(500);
  }
  // …then, with the worker gone, what stays queued (in the queue, and held for a dependency).
  await worker.stop();
  bar.update(ran, 'the worker stopped; submitting the queued and cancelled ones');
  const toCancel = await batch(Array.from({ length: p.cancelled }, () => noop(0)));
  for (const id of toCancel.ids) await client.cancel(id);
  await batch(Array.from({ length: p.dependencyFailed }, () => noop(0, { dependsOn: toCancel.ids[0] })));
  const queued = await batch(Array.from({ length: p.queued - p.held }, () => noop(0)));
  await batch(Array.from({ length: p.held }, () => noop(0, { dependsOn: queued.ids[0] })));
  for (;;) {
    const failed = (await client.list({ limit: 1000, state: 'failed' })).jobs.length;
    if (failed >= p.failed + p.dependencyFailed) break;
    await sleep(500);
  }
  bar.update(o.jobs, 'filled');
  return { trainId: train.id };
}

interface PageFigures {
  page: string;
  hash: string;
  /** Navigation start to content shown, ms, each run (the first with a cold cache). */
  loads: number[];
  median: number;
  /** The API calls of the median run: path, duration (ms), bytes. */
  api: { path: string; ms: number; bytes: number }[];
}

/** Loads `url` once in a fresh navigation; resolves with the content time and the API calls made by then. */
async function load(page: Page, url: string, shown: string) {
  await page.goto('about:blank');
  // The page notes the moment its content first shows (a mutation observer from its first script on).
  const watch = await page.evaluateOnNewDocument(`new MutationObserver((_, obs) => {
      if (!(${shown})) return;
      window.__shownAt = performance.now();
      obs.disconnect();
    }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });`);
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await page.waitForFunction('window.__shownAt !== undefined', { timeout: 30_000 });
  await page.removeScriptToEvaluateOnNewDocument(watch.identifier);
  const at = (await page.evaluate('window.__shownAt')) as number;
  const api = (await page.evaluate(`performance.getEntriesByType('resource')
      .filter((e) => e.name.includes('/v1/') && e.responseEnd <= ${at} + 1)
      .map((e) => ({ path: new URL(e.name).pathname + new URL(e.name).search, ms: Math.round(e.duration),
        bytes: e.encodedBodySize }))`)) as PageFigures['api'];
  return { at, api };
}

/** An API call timed from here (median of `n`), with its response size. */
async function timeCall(p: string, n: number) {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await fetch(new URL(p, api).href, { headers: { authorization: `Bearer ${TOKEN}` } });
    const body = await res.arrayBuffer();
    if (!res.ok) throw new Error(`GET ${p}: ${res.status} ${Buffer.from(body).toString()}`);
    times.push(performance.now() - t0);
    bytes = body.byteLength;
  }
  return { path: p, median: Math.round(median(times)), bytes };
}

const api = `http://127.0.0.1:${o.port + 1}`;
const env = {
  REDIS_URL: redisUrl,
  USINE_QUEUE_PREFIX: 'bc',
  USINE_PORT: String(o.port + 1),
  USINE_DATA_DIR: dir,
  USINE_ARTIFACT_DIR: path.join(dir, 'artifacts'),
  USINE_TENANTS_FILE: path.join(dir, 'tenants.json'),
};
fs.writeFileSync(
  env.USINE_TENANTS_FILE,
  JSON.stringify({
    adminTokenSha256: [hashToken('bench-console-admin-token')],
    tenants: [
      {
        name: 'bench',
        tokenSha256: [hashToken(TOKEN)],
        maxQueued: 100_000,
        maxRunning: 1000,
        rateLimitPerMinute: 100_000,
      },
    ],
  }),
);

try {
  console.log(`bench:console: ${o.jobs} jobs, ${o.runs} loads of each page; starting a scheduler and a worker…`);
  const started = await Promise.all([
    startTs('scheduler/main.ts', env, /scheduler listening/),
    startTs(
      'worker/main.ts',
      { ...env, USINE_WORKER_NAME: 'w0', USINE_WORKER_CONCURRENCY: '8', USINE_WORKER_METRICS_PORT: String(o.port + 2) },
      /worker ready/,
      120_000,
    ),
  ]);
  procs.push(...started);
  const client = new UsineClient({ url: api, token: TOKEN });
  const fillBar = progress('fill ', o.jobs);
  const { trainId } = await fill(client, started[1], fillBar);

  const pages = [
    { page: 'Jobs', hash: '#/jobs', shown: `document.querySelector('table.jobs tbody tr')` },
    // "Show more" up to its end: every row of 1,000 rendered (the last row shown, not the first).
    {
      page: 'Jobs, 1,000 rows',
      hash: '#/jobs?limit=1000',
      shown: `document.querySelectorAll('table.jobs tbody tr').length >= ${Math.min(1000, o.jobs)}`,
    },
    {
      page: 'Job (train, 300 steps)',
      hash: `#/jobs/${encodeURIComponent(trainId)}`,
      shown: `Number(document.querySelector('figure.curve')?.getAttribute('data-points')) > 0`,
    },
    { page: 'Tenant', hash: '#/tenant', shown: `/last week/.test(document.querySelector('main')?.innerText ?? '')` },
  ];
  const loadBar = progress('loads', pages.length * o.runs);
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  await page.goto(`${api}/ui/`);
  await page.evaluate(`localStorage.setItem('usine.token', ${JSON.stringify(TOKEN)})`);
  const figures: PageFigures[] = [];
  for (const p of pages) {
    const runs: Awaited<ReturnType<typeof load>>[] = [];
    for (let i = 0; i < o.runs; i++) {
      loadBar.update(figures.length * o.runs + i + 1, p.page);
      runs.push(await load(page, `${api}/ui/${p.hash}`, p.shown));
    }
    const loads = runs.map((r) => Math.round(r.at));
    const mid = median(loads);
    const closest = runs.reduce((a, b) => (Math.abs(b.at - mid) < Math.abs(a.at - mid) ? b : a));
    figures.push({ page: p.page, hash: p.hash, loads, median: mid, api: closest.api });
  }
  bars?.stop();
  const calls = [];
  for (const p of [
    '/v1/jobs?limit=100',
    '/v1/jobs?limit=1000',
    '/v1/jobs?state=queued&limit=1000',
    '/v1/jobs?state=running&limit=1000',
    `/v1/jobs/${encodeURIComponent(trainId)}`,
    '/v1/usage?since=7d',
  ])
    calls.push(await timeCall(p, Math.max(5, o.runs)));

  console.log(`\nPage loads (navigation start to content shown), ${o.runs} runs, the first with a cold cache:`);
  for (const f of figures) {
    console.log(`  ${f.page.padEnd(24)} median ${ms(f.median).padStart(8)}   runs ${f.loads.join(', ')}`);
    for (const c of f.api) console.log(`      ${c.path.padEnd(54)} ${ms(c.ms).padStart(8)} ${c.bytes} B`);
  }
  console.log(`\nAPI calls timed from Node (median of ${Math.max(5, o.runs)}):`);
  for (const c of calls) console.log(`  GET ${c.path.padEnd(56)} ${ms(c.median).padStart(8)} ${c.bytes} B`);
  if (o.json) {
    const out = { date: new Date().toISOString(), jobs: o.jobs, plan: plan(o.jobs), runs: o.runs, figures, calls };
    fs.writeFileSync(o.json, JSON.stringify(out, null, 2) + '\n');
    console.log(`\nwrote ${o.json}`);
  }
} catch (e) {
  console.error(`bench:console failed: ${(e as Error).stack}`);
  for (const p of procs) console.error(p.output().slice(-3000));
  process.exitCode = 1;
} finally {
  await cleanup();
}

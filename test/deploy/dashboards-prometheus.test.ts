// Every dashboard panel's query returns data from a real Prometheus scraping a running
// scheduler and worker after a few jobs ran. The test names each query that came back empty.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsineClient, type JobSpecInput } from '../../client/client.ts';
import { DASHBOARDS } from '../../deploy/grafana/src/index.ts';
import { ROOT } from '../support/processes.ts';
import { dataPanels, selectedMetrics, toPromql, type DashboardJson } from './support/dashboards.ts';
import { startPrometheus, type Prometheus } from './support/prometheus.ts';
import { Cluster } from '../support/cluster.ts';

const SCHEDULER_PORT = 8742;
const WORKER_PORT = 8743; // the cluster's first worker: SCHEDULER_PORT + 1
const PROMETHEUS_PORT = 9094;
const SMALL_MATMUL = { type: 'matmul', params: { m: 64, n: 64, k: 64 } } as const;

const cluster = new Cluster({ port: SCHEDULER_PORT, workers: [{}] });
const client = new UsineClient({ url: cluster.url });
let prom: Prometheus;
let startS: number;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const submit = async (spec: JobSpecInput) => (await client.submit(spec)).id;
const finalState = async (id: string) => (await client.wait(id, { intervalMs: 50, timeoutMs: 30_000 })).state;

async function scrapedAtLeast(jobs: string[], timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const up = await prom.query('up == 1');
    if (jobs.every((j) => up.some((s) => s.metric.job === j))) return;
    await sleep(200);
  }
  throw new Error(
    `Prometheus has not scraped ${jobs.join(', ')}:\n${JSON.stringify(await prom.get('/api/v1/targets'))}`,
  );
}

beforeAll(async () => {
  await cluster.start();
  prom = await startPrometheus({
    port: PROMETHEUS_PORT,
    jobs: [
      { job: 'usine-scheduler', targets: [`127.0.0.1:${SCHEDULER_PORT}`] },
      { job: 'usine-worker', targets: [`127.0.0.1:${WORKER_PORT}`] },
    ],
    ruleFiles: [path.join(ROOT, 'deploy/prometheus/alerts.yml')],
  });
  startS = Date.now() / 1000;
  await scrapedAtLeast(['usine-scheduler', 'usine-worker']);
  // A few jobs spread over a few scrapes, so rates and quantiles have samples on both sides.
  for (let round = 0; round < 3; round++) {
    const ids = await Promise.all([
      submit(SMALL_MATMUL),
      submit({ ...SMALL_MATMUL, params: { m: 96, n: 80, k: 72, repeats: 2 } }),
    ]);
    for (const id of ids) expect(await finalState(id)).toBe('succeeded');
    await sleep(1000);
  }
  // One refused submission (an invalid spec) so the refusal series exist.
  const bad = await fetch(`${cluster.url}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"type":"matmul","params":{"m":0}}',
  });
  expect(bad.status).toBe(400);
  await sleep(2500); // two more scrapes after the last job
}, 90_000);

afterAll(async () => {
  await prom?.stop();
  await cluster.stop();
});

describe('dashboards on a real Prometheus', () => {
  it('scrapes both targets healthily', async () => {
    type Targets = { activeTargets: { labels: { job: string }; health: string; lastError: string }[] };
    // One scrape can time out (1 s) on a busy 2-core machine: judge by the latest within 5 s.
    let targets = (await prom.get('/api/v1/targets')) as Targets;
    for (let i = 0; i < 25 && targets.activeTargets.some((t) => t.health !== 'up'); i++) {
      await sleep(200);
      targets = (await prom.get('/api/v1/targets')) as Targets;
    }
    for (const t of targets.activeTargets) expect(t, t.labels.job).toMatchObject({ health: 'up', lastError: '' });
    expect(targets.activeTargets.map((t) => t.labels.job).sort()).toEqual(['usine-scheduler', 'usine-worker']);
  });

  it('loads and evaluates the alert rules without errors, none firing on a healthy stack', async () => {
    const rules = (await prom.get('/api/v1/rules')) as {
      groups: { rules: { name: string; health: string; lastError?: string; state: string }[] }[];
    };
    const all = rules.groups.flatMap((g) => g.rules);
    expect(all.length).toBe(10);
    for (const r of all) {
      expect(r.health, `${r.name}: ${r.lastError}`).toBe('ok');
      expect(r.state, r.name).not.toBe('firing');
    }
  });

  it('sees exactly the work that ran: jobs, FLOPs, transfers, the refusal, and utilisation within 0..1', async () => {
    const value = async (q: string) => {
      const r = await prom.query(q);
      expect(r, q).toHaveLength(1);
      return Number(r[0].value[1]);
    };
    // 3 rounds of a 64³ matmul (1 repeat) and a 96×80×72 one (2 repeats).
    const flops = 3 * (2 * 64 * 64 * 64 + 2 * (2 * 96 * 80 * 72));
    const up = 3 * (4 * (64 * 64 + 64 * 64) + 4 * (96 * 72 + 72 * 80));
    const down = 3 * 4 * (64 * 64 + 96 * 80);
    expect(await value('sum(usine_jobs_finished_total{outcome="succeeded"})')).toBe(6);
    expect(await value('sum(usine_worker_jobs_finished_total{outcome="succeeded"})')).toBe(6);
    expect(await value('sum(usine_worker_flops_total)')).toBe(flops);
    expect(await value('sum(usine_worker_transfer_bytes_total{direction="upload"})')).toBe(up);
    expect(await value('sum(usine_worker_transfer_bytes_total{direction="download"})')).toBe(down);
    expect(await value('sum(usine_job_refusals_total{reason="invalid_spec"})')).toBe(1);
    const util = await prom.queryRange(
      'rate(usine_worker_device_busy_seconds_total[30s])',
      Math.floor(startS),
      Math.ceil(Date.now() / 1000),
      1,
    );
    const points = util.flatMap((s) => s.values.map(([, v]) => Number(v)));
    expect(Math.max(...points)).toBeGreaterThan(0);
    expect(Math.max(...points)).toBeLessThanOrEqual(1);
  });

  it("every panel's query returns data", async () => {
    const endS = Date.now() / 1000;
    const range = `${Math.ceil(endS - startS) + 5}s`;
    // Grafana's $__rate_interval is at least 4 scrape intervals; 30 s spans the whole run here.
    const subst = { rateInterval: '30s', range };
    const empty: string[] = [];
    const absent = new Set<string>();
    let count = 0;
    for (const { build } of DASHBOARDS) {
      const d = JSON.parse(JSON.stringify(build())) as DashboardJson;
      for (const p of dataPanels(d)) {
        for (const t of p.targets!) {
          count++;
          const q = toPromql(t.expr!, subst);
          // Grafana runs instant targets once at the end of the range, the others over it.
          const series = (t as { instant?: boolean }).instant
            ? await prom.query(q, endS)
            : await prom.queryRange(q, Math.floor(startS), Math.ceil(endS), 1);
          if (series.length === 0) {
            empty.push(`${d.title} › ${p.title} [${t.refId}]: ${q}`);
            for (const m of selectedMetrics(q))
              if ((await prom.query(`count({__name__="${m.name}"})`)).length === 0) absent.add(m.name);
          }
        }
      }
    }
    expect(count).toBeGreaterThan(30);
    if (empty.length) {
      console.log(`${empty.length} of ${count} panel queries returned nothing:\n  ${empty.join('\n  ')}`);
      console.log(
        `metrics Prometheus never saw: ${[...absent].sort().join(', ') || '(none: the series exist but the queries filter them out)'}`,
      );
    }
    expect(empty).toEqual([]);
  });
});

describe('alert expressions on the live stack', () => {
  // Runs last: it stops the worker. The `for:` durations are promtool's to test; this
  // checks that the expressions match how the scheduler and worker really report.
  it('UsineWorkerDown and UsineNoWorkersOnline hold once the only worker stops and a job waits', async () => {
    const rules = (
      parse(fs.readFileSync(path.join(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8')) as {
        groups: { rules: { alert: string; expr: string }[] }[];
      }
    ).groups.flatMap((g) => g.rules);
    const expr = (name: string) => rules.find((r) => r.alert === name)!.expr;
    expect(await prom.query(expr('UsineWorkerDown'))).toEqual([]);
    expect(await prom.query(expr('UsineNoWorkersOnline'))).toEqual([]);
    await cluster.stopWorker(0);
    await submit(SMALL_MATMUL);
    const end = Date.now() + 15_000;
    let down: unknown[] = [];
    let none: unknown[] = [];
    while (Date.now() < end && (down.length === 0 || none.length === 0)) {
      await sleep(500);
      down = await prom.query(expr('UsineWorkerDown'));
      none = await prom.query(expr('UsineNoWorkersOnline'));
    }
    expect(down, 'UsineWorkerDown').toHaveLength(1);
    expect(none, 'UsineNoWorkersOnline').toHaveLength(1);
  });
});

// A real Prometheus (Debian's package) for tests: its own config and data in a temp
// folder, scraping the given targets every second, queried through its HTTP API.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';

export interface ScrapeJob {
  job: string;
  targets: string[];
}

export interface Prometheus {
  url: string;
  proc: ChildProcess;
  output(): string;
  /** Range query; resolves with the result's series (empty when nothing matched). */
  queryRange(
    promql: string,
    startS: number,
    endS: number,
    stepS: number,
  ): Promise<{ metric: Record<string, string>; values: [number, string][] }[]>;
  /** Instant query at `timeS`. */
  query(promql: string, timeS?: number): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  get(pathAndQuery: string): Promise<unknown>;
  stop(): Promise<void>;
}

export async function startPrometheus(o: {
  port: number;
  jobs: ScrapeJob[];
  ruleFiles?: string[];
}): Promise<Prometheus> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usine-test-prometheus-'));
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: o.ruleFiles ?? [],
    scrape_configs: o.jobs.map((j) => ({ job_name: j.job, static_configs: [{ targets: j.targets }] })),
  };
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), stringify(config));
  const url = `http://127.0.0.1:${o.port}`;
  const proc = spawn(
    'prometheus',
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${o.port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const stop = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        fs.rmSync(dir, { recursive: true, force: true });
        resolve();
      };
      if (proc.exitCode !== null || proc.signalCode !== null) return done();
      proc.once('exit', done);
      proc.kill('SIGTERM');
    });
  const exited = new Promise<never>((_, reject) => {
    proc.once('error', (e) =>
      reject(
        new Error(`cannot start prometheus (${e.message}); install it: bash scripts/setup-system.sh --with-prometheus`),
      ),
    );
    proc.once('exit', (code) => reject(new Error(`prometheus exited (${code}) before it was ready:\n${out}`)));
  });
  const ready = (async () => {
    for (let i = 0; i < 150; i++) {
      const ok = await fetch(`${url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`prometheus not ready at ${url} after 15 s:\n${out}`);
  })();
  try {
    await Promise.race([ready, exited]);
  } catch (e) {
    await stop();
    throw e;
  }
  exited.catch(() => {});

  async function get(pathAndQuery: string): Promise<unknown> {
    const res = await fetch(`${url}${pathAndQuery}`);
    const body = (await res.json()) as { status: string; data: unknown; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${pathAndQuery}: ${body.error}`);
    return body.data;
  }
  return {
    url,
    proc,
    output: () => out,
    get,
    queryRange: async (q, start, end, step) =>
      (
        (await get(
          `/api/v1/query_range?${new URLSearchParams({ query: q, start: String(start), end: String(end), step: String(step) })}`,
        )) as { result: never[] }
      ).result,
    query: async (q, time) =>
      (
        (await get(`/api/v1/query?${new URLSearchParams({ query: q, ...(time ? { time: String(time) } : {}) })}`)) as {
          result: never[];
        }
      ).result,
    stop,
  };
}

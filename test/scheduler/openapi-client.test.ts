// /v1/openapi.json as someone else's tools use it. A real cluster (a scheduler and a worker as
// child processes): every response it gives matches the schema the served document gives that
// response (JSON Schema 2020-12, checked with Ajv), and a client generated from the served document
// with openapi-typescript typechecks, under strict tsc, a program that submits a job with
// openapi-fetch and reads its state, and runs it; misuses of the typed fields fail to typecheck.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TuningStore, redisKey } from '../../kernels/autotune/tuning-store.ts';
import { connectRedis } from '../../shared/redis.ts';
import { Cluster } from '../support/cluster.ts';
import { ROOT } from '../support/processes.ts';

const PORT = 8540;
const run = promisify(execFile);

interface Doc {
  paths: Record<string, Record<string, { responses: Record<string, Response> }>>;
  components: { schemas: Record<string, object> };
}
interface Response {
  description: string;
  content?: Record<string, { schema: { $ref?: string } & Record<string, unknown> }>;
}

let cluster: Cluster;
let doc: Doc;
const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
const BASE = 'https://usine.invalid/openapi.json';
/** "GET /v1/jobs/{id} 200": every documented response this test received. */
const seen = new Set<string>();

beforeAll(async () => {
  cluster = await new Cluster({ port: PORT, tenants: [{ name: 'a' }, { name: 'b' }], workers: [{}] }).start();
  doc = (await (await fetch(`${cluster.url}/v1/openapi.json`)).json()) as Doc;
  // The components as one resource, so the document's own "#/components/schemas/…" refs resolve.
  ajv.addSchema({ $id: BASE, components: doc.components });
}, 120_000);
afterAll(() => cluster?.stop());

const tokenOf = (who: string) => (who === 'admin' ? cluster.adminToken : Cluster.token(who));

/**
 * One request to the real scheduler; its status must be documented for the route, and a JSON body
 * must match the schema the document gives that response. Resolves with the body.
 */
async function call<T = Record<string, unknown>>(
  who: string | null,
  method: string,
  template: string,
  url: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = who ? { authorization: `Bearer ${tokenOf(who)}` } : {};
  if (body instanceof Uint8Array) headers['content-type'] = 'application/octet-stream';
  else if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(cluster.url + url, {
    method,
    headers,
    body: body instanceof Uint8Array ? body : body !== undefined ? JSON.stringify(body) : undefined,
  });
  const where = `${method} ${template} ${res.status}`;
  const documented = doc.paths[template]?.[method.toLowerCase()]?.responses[res.status];
  const text = await res.text();
  expect(documented, `${where} is not in the document (body ${text.slice(0, 300)})`).toBeDefined();
  seen.add(where);
  const type = (res.headers.get('content-type') ?? '').split(';')[0];
  const media = documented!.content?.[type];
  if (res.status === 204) expect(documented!.content, where).toBeUndefined();
  else expect(media, `${where}: answered ${type}, documented ${Object.keys(documented!.content ?? {})}`).toBeDefined();
  if (type !== 'application/json') return { status: res.status, body: text as T };
  const json = JSON.parse(text) as T;
  const ref = media!.schema.$ref;
  const validate = ajv.compile(ref ? { $ref: BASE + ref } : media!.schema);
  if (!validate(json)) expect.fail(`${where}: ${ajv.errorsText(validate.errors)} in ${text.slice(0, 1500)}`);
  return { status: res.status, body: json };
}

async function until<T>(what: string, get: () => Promise<T>, done: (v: T) => boolean, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (done(v)) return v;
    if (Date.now() > end) throw new Error(`${what} did not happen in ${ms} ms; last ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const FINAL = ['succeeded', 'failed', 'cancelled'];
type Job = { id: string; state: string; progress: unknown; result: unknown; waitingFor?: string | null };

describe('the responses of a real scheduler', () => {
  it('match the schemas the served document gives them, for every documented success', async () => {
    const matmul = await call<{ id: string }>('a', 'POST', '/v1/jobs', '/v1/jobs', {
      type: 'matmul',
      params: { m: 48, n: 40, k: 32, saveOutput: true },
    });
    expect(matmul.status).toBe(201);
    const done = await until(
      'the matmul job finishing',
      async () => (await call<Job>('a', 'GET', '/v1/jobs/{id}', `/v1/jobs/${matmul.body.id}`)).body,
      (v) => FINAL.includes(v.state),
    );
    expect(done.state).toBe('succeeded');
    expect(done.result).toMatchObject({ m: 48, n: 40, k: 32 });

    // Two long jobs: one runs (the worker heartbeats it in detail), one waits (and says why).
    const batch = await call<{ ids: string[] }>('a', 'POST', '/v1/jobs/batch', '/v1/jobs/batch', {
      jobs: [
        { type: 'noop', params: { sleepMs: 60_000 } },
        { type: 'noop', params: { sleepMs: 60_000 } },
      ],
    });
    expect(batch.status).toBe(201);
    const workers = await until(
      'a worker reporting its running job',
      async () => (await call<{ workers: { jobs?: unknown[] }[] }>('a', 'GET', '/v1/workers', '/v1/workers')).body,
      (b) => (b.workers[0]?.jobs?.length ?? 0) > 0,
    );
    expect(workers.workers).toHaveLength(1);
    const waiting = await until(
      'a job waiting with a reason',
      async () => {
        const jobs = (await call<{ jobs: Job[] }>('a', 'GET', '/v1/jobs', '/v1/jobs?limit=10')).body.jobs;
        const queued = jobs.find((j) => j.state === 'queued');
        return queued && (await call<Job>('a', 'GET', '/v1/jobs/{id}', `/v1/jobs/${queued.id}`)).body;
      },
      (j) => typeof j?.waitingFor === 'string',
    );
    expect(batch.body.ids).toContain(waiting!.id);
    for (const id of batch.body.ids) {
      const cancelled = await call<Job>('a', 'POST', '/v1/jobs/{id}/cancel', `/v1/jobs/${id}/cancel`);
      expect(cancelled.status).toBe(200);
    }

    const logs = await call<{ logs: string[] }>('a', 'GET', '/v1/jobs/{id}/logs', `/v1/jobs/${matmul.body.id}/logs`);
    expect(logs.body.logs.length).toBeGreaterThan(0);
    // A train job's curve (test/e2e/job-curve.test.ts has one with points): any job has one, empty but typed.
    const curveUrl = `/v1/jobs/${matmul.body.id}/curve?after=0`;
    const curve = await call<{ points: unknown[]; steps: null }>('a', 'GET', '/v1/jobs/{id}/curve', curveUrl);
    expect([curve.body.points, curve.body.steps]).toEqual([[], null]);
    expect((await call('b', 'GET', '/v1/jobs/{id}/curve', curveUrl)).status).toBe(404);
    const outputs = await call<{ artifacts: { id: string }[] }>(
      'a',
      'GET',
      '/v1/jobs/{id}/artifacts',
      `/v1/jobs/${matmul.body.id}/artifacts`,
    );
    expect(outputs.body.artifacts).toHaveLength(1);
    const output = outputs.body.artifacts[0].id;
    await call('a', 'GET', '/v1/artifacts/{id}/meta', `/v1/artifacts/${output}/meta`);
    await call('a', 'GET', '/v1/artifacts/{id}', `/v1/artifacts/${output}`);
    const upload = await call('a', 'POST', '/v1/artifacts', '/v1/artifacts?name=text.txt', new Uint8Array([104, 105]));
    expect(upload.status).toBe(201);

    // A tuning entry as a worker's tuner stores it (test workers tune nothing: USINE_MATMUL_AUTOTUNE=stored).
    const redis = connectRedis(inject('redisUrl'));
    const adapter = `openapi-test-adapter-${process.pid}`;
    const tuningDir = fs.mkdtempSync(path.join(os.tmpdir(), 'usine-tuning-'));
    try {
      await new TuningStore('matmul', adapter, tuningDir, redis).put('f32|64x64x64|nn', {
        config: { variant: 'direct', wgX: 8, wgY: 1, rm: 4, rn: 1, cw: 4, tk: 0 },
        ms: 0.5,
        shape: { m: 64, n: 64, k: 64 },
        tunedAt: new Date().toISOString(),
        candidates: [{ key: 'direct-8x1-r4x1-c4', ms: 0.5 }],
      });
      const tuning = await call<{ tunings: { adapter: string; entries: { gflops: number | null }[] }[] }>(
        'b',
        'GET',
        '/v1/kernels/tuning',
        '/v1/kernels/tuning',
      );
      expect(tuning.body.tunings.find((t) => t.adapter === adapter)?.entries[0].gflops).toBe(1.049);
    } finally {
      await redis.del(redisKey('matmul', adapter));
      redis.disconnect();
      fs.rmSync(tuningDir, { recursive: true, force: true });
    }
    expect((await call(null, 'GET', '/v1/kernels/tuning', '/v1/kernels/tuning')).status).toBe(401);

    const usage = await call<{ tenants: unknown[] }>('admin', 'GET', '/v1/usage', '/v1/usage?since=1h');
    expect(usage.body.tenants.length).toBeGreaterThan(0);
    const me = await call<{ caller: string; tenant: { name: string } | null }>('a', 'GET', '/v1/tenant', '/v1/tenant');
    expect(me.body).toMatchObject({ caller: 'tenant', tenant: { name: 'a' } });
    expect((await call('admin', 'GET', '/v1/tenant', '/v1/tenant')).body).toEqual({ caller: 'admin', tenant: null });
    await call('admin', 'GET', '/v1/tenants', '/v1/tenants');
    expect((await call('admin', 'PUT', '/v1/tenants/{name}', '/v1/tenants/c', { weight: 2 })).status).toBe(201);
    expect((await call('admin', 'PUT', '/v1/tenants/{name}', '/v1/tenants/c', { weight: 3 })).status).toBe(200);
    await call('admin', 'POST', '/v1/tenants/{name}/tokens', '/v1/tenants/c/tokens');
    expect((await call('admin', 'DELETE', '/v1/tenants/{name}', '/v1/tenants/c')).status).toBe(204);
    for (const url of ['/livez', '/readyz', '/healthz', '/metrics', '/v1/openapi.json'])
      await call(null, 'GET', url, url);

    // Errors have their one documented shape too.
    expect((await call('b', 'GET', '/v1/jobs/{id}', `/v1/jobs/${matmul.body.id}`)).status).toBe(404);
    expect((await call('a', 'POST', '/v1/jobs', '/v1/jobs', { type: 'matmul', params: {} })).status).toBe(400);
    expect((await call(null, 'POST', '/v1/jobs', '/v1/jobs', { type: 'noop' })).status).toBe(401);
    expect((await call('b', 'GET', '/v1/tenants', '/v1/tenants')).status).toBe(403);
    expect((await call('b', 'GET', '/v1/tenant', '/v1/tenant?tenant=a')).status).toBe(403);

    // Every success the document names has a schema (none empty), and this test received each one.
    const successes: string[] = [];
    for (const [template, item] of Object.entries(doc.paths))
      for (const [method, operation] of Object.entries(item))
        for (const [status, response] of Object.entries(operation.responses)) {
          if (Number(status) >= 300) continue;
          successes.push(`${method.toUpperCase()} ${template} ${status}`);
          for (const [type, { schema }] of Object.entries(response.content ?? {}))
            expect(Object.keys(schema), `${method} ${template} ${status} ${type}`).not.toEqual([]);
        }
    expect(successes.filter((s) => !seen.has(s))).toEqual([]);
  }, 180_000);
});

/** A program as a user of the API writes it: submits a job with openapi-fetch, follows it, reads its fields. */
const PROGRAM = `import createClient from 'openapi-fetch';
import type { components, paths } from './usine-api.ts';

type JobView = components['schemas']['JobView'];
const [baseUrl, token] = process.argv.slice(2);
const client = createClient<paths>({ baseUrl, headers: { authorization: \`Bearer \${token}\` } });

const submitted = await client.POST('/v1/jobs', { body: { type: 'matmul', params: { m: 16, n: 16, k: 16 } } });
if (submitted.error) throw new Error(\`\${submitted.error.error.code}: \${submitted.error.error.message}\`);
const id: string = submitted.data.id;
let job: JobView;
for (;;) {
  const r = await client.GET('/v1/jobs/{id}', { params: { path: { id } } });
  if (r.error) throw new Error(r.error.error.message);
  job = r.data;
  if (job.state === 'succeeded' || job.state === 'failed' || job.state === 'cancelled') break;
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const state: 'queued' | 'running' | 'retrying' | 'succeeded' | 'failed' | 'cancelled' = job.state;
const percent: number | undefined = job.progress?.percent;
const attempts: number = job.attempts;
const finishedAt: string | null = job.finishedAt;
const workers = await client.GET('/v1/workers');
const adapters: string[] = (workers.data?.workers ?? []).map((w) => w.caps.vendor + ' ' + w.adapter);
console.log(JSON.stringify({ id, state, percent, attempts, finishedAt, adapters }));
`;

/** Misuses of the generated types: each line marked MISUSE must fail to typecheck, and nothing else. */
const MISUSE = `import createClient from 'openapi-fetch';
import type { paths } from './usine-api.ts';

const client = createClient<paths>({ baseUrl: 'http://127.0.0.1:1' });
export async function misuse(id: string) {
  const { data: job } = await client.GET('/v1/jobs/{id}', { params: { path: { id } } });
  if (!job) return [];
  const n: number = job.state; // MISUSE: the state is a string union
  const w: string = job.worker; // MISUSE: null until the job runs
  const c = job.colour; // MISUSE: no such field
  const p: string = job.progress!.percent; // MISUSE: a number
  await client.POST('/v1/jobs', { body: { type: 'matmul', params: { m: 'big', n: 1, k: 1 } } }); // MISUSE
  await client.GET('/v1/jobz/{id}', { params: { path: { id } } }); // MISUSE: no such path
  const { data: list } = await client.GET('/v1/jobs', { params: { query: { state: 'done' } } }); // MISUSE
  return [n, w, c, p, list];
}
`;

describe('a client generated from the served document', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usine-openapi-client-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('types the job view: a program that submits a job typechecks and runs, misuses do not typecheck', async () => {
    const generated = astToString(await openapiTS(new URL(`${cluster.url}/v1/openapi.json`)));
    fs.writeFileSync(path.join(dir, 'usine-api.ts'), generated);
    fs.writeFileSync(path.join(dir, 'program.ts'), PROGRAM);
    fs.writeFileSync(path.join(dir, 'misuse.ts'), MISUSE);
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    fs.writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2023', 'DOM'],
          types: ['node'],
          strict: true,
          noEmit: true,
          allowImportingTsExtensions: true,
          skipLibCheck: true,
        },
        include: ['*.ts'],
      }),
    );

    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
    const out = await run(process.execPath, [tsc, '-p', dir, '--pretty', 'false'], { cwd: dir }).then(
      (r) => r.stdout,
      (e: { stdout: string }) => e.stdout,
    );
    // "misuse.ts(8,9): error TS2322: …" → the lines with errors, per file.
    const errors = [...out.matchAll(/^(\S+?\.ts)\((\d+),\d+\): error (TS\d+)/gm)].map((m) => `${m[1]}:${m[2]}`);
    const marked = MISUSE.split('\n').flatMap((line, i) => (line.includes('// MISUSE') ? [`misuse.ts:${i + 1}`] : []));
    expect(marked).toHaveLength(7);
    expect([...new Set(errors)].sort(), out).toEqual(marked.sort());

    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'program.ts', cluster.url, Cluster.token('a')], {
      cwd: dir,
      timeout: 60_000,
    }).catch((e: Error) => {
      throw new Error(`${e.message}\nthe scheduler's log:\n${cluster.scheduler.output().slice(-4000)}`);
    });
    const printed = JSON.parse(stdout) as { state: string; attempts: number; adapters: string[] };
    expect(printed).toMatchObject({ state: 'succeeded', attempts: 1 });
    expect(printed.adapters).toHaveLength(1);
  }, 120_000);
});

// The typed usine client: everything the CLI does goes through here.
import type { JobSpecInput } from '../shared/job-spec.ts';
import type { ArtifactMeta } from '../shared/artifact-store.ts';
import { FINAL_STATES, type JobView, type JobState } from '../shared/job-view.ts';
import type { JobCurve } from '../shared/job-curve.ts';
import type { DeviceCaps } from '../scheduler/policy/matching.ts';

export type { JobSpecInput, ArtifactMeta };

export class UsineApiError extends Error {
  override name = 'UsineApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  url?: string;
  token?: string;
}

export interface WorkerView {
  id: string;
  name: string;
  adapter: string;
  caps: DeviceCaps;
  concurrency: number;
  running: string[];
  startedAt: string;
  lastHeartbeat: string;
}

export interface UsageView {
  from: string;
  to: string;
  granularity: string;
  /** `joules`: estimated energy (absent from a scheduler older than it). */
  tenants: { tenant: string; deviceSeconds: number; jobs: number; flops: number; joules?: number }[];
}

export interface TenantView {
  name: string;
  weight: number;
  maxRunning: number;
  maxQueued: number;
  regions: string[];
  vendors: string[];
  tokens: number;
}

export class UsineClient {
  readonly url: string;
  private readonly token?: string;

  constructor(opts: ClientOptions = {}) {
    this.url = (opts.url ?? process.env.USINE_URL ?? 'http://127.0.0.1:8700').replace(/\/+$/, '');
    this.token = opts.token ?? process.env.USINE_TOKEN;
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.url + path, {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
    } catch (e) {
      throw new UsineApiError(
        0,
        'unreachable',
        `cannot reach the usine scheduler at ${this.url} (${(e as Error).cause ?? e}); is it running? (npm start)`,
      );
    }
    const text = await res.text();
    let data: { error?: { code?: string; message?: string; details?: unknown } } | null = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      throw new UsineApiError(
        res.status,
        'bad_response',
        `unexpected answer from ${this.url}${path}: ${text.slice(0, 200)}`,
      );
    }
    if (!res.ok) {
      const err = data?.error ?? {};
      throw new UsineApiError(res.status, err.code ?? 'http_error', err.message ?? `HTTP ${res.status}`, err.details);
    }
    return data as T;
  }

  private static qs(params: Record<string, string | number | undefined>): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
    const s = q.toString();
    return s ? `?${s}` : '';
  }

  /** Submits a job; admins pass `tenant` to act for one. */
  submit(spec: JobSpecInput, opts: { tenant?: string } = {}): Promise<{ id: string; state: JobState }> {
    return this.request('POST', `/v1/jobs${UsineClient.qs({ tenant: opts.tenant })}`, spec);
  }

  /** Submits many jobs in one request (all admitted, or none). */
  submitBatch(specs: JobSpecInput[], opts: { tenant?: string } = {}): Promise<{ ids: string[]; state: JobState }> {
    return this.request('POST', `/v1/jobs/batch${UsineClient.qs({ tenant: opts.tenant })}`, { jobs: specs });
  }

  get(id: string): Promise<JobView> {
    return this.request('GET', `/v1/jobs/${encodeURIComponent(id)}`);
  }

  list(
    filter: { state?: JobState; type?: string; tenant?: string; limit?: number } = {},
  ): Promise<{ jobs: JobView[] }> {
    return this.request('GET', `/v1/jobs${UsineClient.qs(filter)}`);
  }

  cancel(id: string): Promise<JobView> {
    return this.request('POST', `/v1/jobs/${encodeURIComponent(id)}/cancel`);
  }

  logs(id: string): Promise<{ id: string; logs: string[] }> {
    return this.request('GET', `/v1/jobs/${encodeURIComponent(id)}/logs`);
  }

  /** A train job's curve points after step `after` (all with 0); ask again with `after: next`. */
  curve(id: string, opts: { after?: number; limit?: number } = {}): Promise<JobCurve> {
    return this.request('GET', `/v1/jobs/${encodeURIComponent(id)}/curve${UsineClient.qs(opts)}`);
  }

  workers(): Promise<{ workers: WorkerView[] }> {
    return this.request('GET', '/v1/workers');
  }

  usage(opts: { since?: string; until?: string } = {}): Promise<UsageView> {
    return this.request('GET', `/v1/usage${UsineClient.qs(opts)}`);
  }

  tenants(): Promise<{ tenants: TenantView[] }> {
    return this.request('GET', '/v1/tenants');
  }

  putTenant(name: string, t: Partial<Omit<TenantView, 'name' | 'tokens'>>): Promise<TenantView> {
    return this.request('PUT', `/v1/tenants/${encodeURIComponent(name)}`, t);
  }

  mintToken(name: string): Promise<{ tenant: string; token: string }> {
    return this.request('POST', `/v1/tenants/${encodeURIComponent(name)}/tokens`);
  }

  /** Polls until the job reaches a final state; `onUpdate` sees every change. */
  async wait(
    id: string,
    opts: { intervalMs?: number; timeoutMs?: number; onUpdate?: (v: JobView) => void } = {},
  ): Promise<JobView> {
    const deadline = Date.now() + (opts.timeoutMs ?? Infinity);
    let last = '';
    for (;;) {
      // Following a job rides out a Redis hiccup: a 503 redis_unavailable is polled through.
      const v = await this.get(id).catch((e: unknown) => {
        if (e instanceof UsineApiError && e.code === 'redis_unavailable' && Date.now() <= deadline) return null;
        throw e;
      });
      if (!v) {
        await new Promise((r) => setTimeout(r, Math.max(opts.intervalMs ?? 200, 1000)));
        continue;
      }
      const key = JSON.stringify([v.state, v.progress, v.waitingFor]);
      if (key !== last) {
        last = key;
        opts.onUpdate?.(v);
      }
      if (FINAL_STATES.includes(v.state)) return v;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${v.state} after ${opts.timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
    }
  }

  /** Uploads a file (e.g. a training text); returns its artifact metadata. */
  async upload(name: string, data: Uint8Array): Promise<ArtifactMeta> {
    return this.raw('POST', `/v1/artifacts${UsineClient.qs({ name })}`, data, 'application/octet-stream').then(
      (r) => r.json() as Promise<ArtifactMeta>,
    );
  }

  /** An artifact's bytes. */
  async download(id: string): Promise<Uint8Array> {
    const r = await this.raw('GET', `/v1/artifacts/${encodeURIComponent(id)}`);
    return new Uint8Array(await r.arrayBuffer());
  }

  artifact(id: string): Promise<ArtifactMeta> {
    return this.request('GET', `/v1/artifacts/${encodeURIComponent(id)}/meta`);
  }

  jobArtifacts(id: string): Promise<{ artifacts: ArtifactMeta[] }> {
    return this.request('GET', `/v1/jobs/${encodeURIComponent(id)}/artifacts`);
  }

  /** A request whose body or answer is not JSON; API errors still throw UsineApiError. */
  private async raw(method: string, path: string, body?: Uint8Array, contentType?: string): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(this.url + path, {
        method,
        headers: {
          ...(contentType ? { 'content-type': contentType } : {}),
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        body,
      });
    } catch (e) {
      throw new UsineApiError(
        0,
        'unreachable',
        `cannot reach the usine scheduler at ${this.url} (${(e as Error).cause ?? e}); is it running? (npm start)`,
      );
    }
    if (!res.ok) {
      const err =
        (
          (await res.json().catch(() => null)) as {
            error?: { code?: string; message?: string; details?: unknown };
          } | null
        )?.error ?? {};
      throw new UsineApiError(res.status, err.code ?? 'http_error', err.message ?? `HTTP ${res.status}`, err.details);
    }
    return res;
  }

  health(): Promise<{ ok: boolean; redis: boolean }> {
    return this.request('GET', '/healthz');
  }
}

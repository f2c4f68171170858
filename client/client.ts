// The typed usine client: everything the CLI does goes through here.
import type { JobSpec } from '../shared/job-spec.ts';
import { FINAL_STATES, type JobView, type JobState } from '../shared/job-view.ts';

/** A job spec as a client writes it: defaults may be left out. */
export type JobSpecInput = { type: JobSpec['type']; params: Partial<JobSpec['params']> & Record<string, unknown>; priority?: number };

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
      throw new UsineApiError(0, 'unreachable', `cannot reach the usine scheduler at ${this.url} (${(e as Error).cause ?? e}); is it running? (npm start)`);
    }
    const text = await res.text();
    const data = text ? JSON.parse(text) : null;
    if (!res.ok) {
      const err = data?.error ?? {};
      throw new UsineApiError(res.status, err.code ?? 'http_error', err.message ?? `HTTP ${res.status}`, err.details);
    }
    return data as T;
  }

  submit(spec: JobSpecInput): Promise<{ id: string; state: JobState }> {
    return this.request('POST', '/v1/jobs', spec);
  }

  get(id: string): Promise<JobView> {
    return this.request('GET', `/v1/jobs/${encodeURIComponent(id)}`);
  }

  /** Polls until the job reaches a final state; `onUpdate` sees every change. */
  async wait(id: string, opts: { intervalMs?: number; timeoutMs?: number; onUpdate?: (v: JobView) => void } = {}): Promise<JobView> {
    const deadline = Date.now() + (opts.timeoutMs ?? Infinity);
    let last = '';
    for (;;) {
      const v = await this.get(id);
      const key = JSON.stringify([v.state, v.progress]);
      if (key !== last) {
        last = key;
        opts.onUpdate?.(v);
      }
      if (FINAL_STATES.includes(v.state)) return v;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${v.state} after ${opts.timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
    }
  }

  health(): Promise<{ ok: boolean; redis: boolean }> {
    return this.request('GET', '/healthz');
  }
}

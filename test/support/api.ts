// The scheduler's HTTP API in process: the real routes over the real state (tenants, queues,
// jobs, workers, usage, admission, artifacts) in the tests' Redis under a key prefix of its own,
// called with Fastify's inject(): no ports, no child processes. No worker runs jobs here;
// fake worker heartbeats give admission the device classes it judges jobs against.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { expect, inject } from 'vitest';
import { openContext, type SchedulerContext } from '../../scheduler/context.ts';
import type { DeviceCaps } from '../../scheduler/policy/matching.ts';
import { buildServer } from '../../scheduler/server.ts';
import { hashToken, tenantsFileSchema, type Tenant } from '../../scheduler/state/tenants.ts';
import { schedulerEnv } from '../../shared/config.ts';
import { createLogger } from '../../shared/logger.ts';
import { connectRedis } from '../../shared/redis.ts';

export interface ApiOptions {
  /** Tenants (each gets the token `token-<name>`); none = open mode. */
  tenants?: (Partial<Tenant> & { name: string })[];
  /** The scheduler's defaults (USINE_BODY_LIMIT_BYTES, USINE_UPLOAD_LIMIT_BYTES) unless given. */
  bodyLimit?: number;
  uploadLimit?: number;
}

export interface Reply<T = unknown> {
  status: number;
  headers: Record<string, unknown>;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: T;
  raw: Buffer;
}

/** A lavapipe-like device class; `registerWorker` overrides what a test needs. */
export const LAVAPIPE: DeviceCaps = {
  vendor: 'mesa',
  architecture: '',
  device: 'llvmpipe',
  backend: 'vulkan',
  features: ['shader-f16', 'timestamp-query'],
  limits: { maxStorageBufferBindingSize: 134_217_728, maxBufferSize: 268_435_456 },
  region: 'local',
};

const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';
let started = 0;

export class Api {
  readonly adminToken = ADMIN_TOKEN;

  private constructor(
    readonly app: FastifyInstance,
    readonly ctx: SchedulerContext,
    private readonly dir: string,
  ) {}

  static token(tenant: string): string {
    return `token-${tenant}`;
  }

  static async start(o: ApiOptions = {}): Promise<Api> {
    const defaults = schedulerEnv.parse({});
    const prefix = `api${process.pid}x${++started}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usine-api-'));
    const cfg = { ...defaults, USINE_QUEUE_PREFIX: prefix, USINE_ARTIFACT_DIR: path.join(dir, 'artifacts') };
    // The tenants as a tenants file would give them; none = open mode.
    const file = o.tenants
      ? tenantsFileSchema.parse({
          adminTokenSha256: [hashToken(ADMIN_TOKEN)],
          tenants: o.tenants.map((t) => ({ ...t, tokenSha256: [hashToken(Api.token(t.name))] })),
        })
      : null;
    const log = createLogger('scheduler', process.env.LOG_LEVEL ?? 'silent');
    const ctx = await openContext(cfg, connectRedis(inject('redisUrl')), file, log);
    const app = buildServer(ctx, log, {
      bodyLimit: o.bodyLimit ?? defaults.USINE_BODY_LIMIT_BYTES,
      uploadLimit: o.uploadLimit ?? defaults.USINE_UPLOAD_LIMIT_BYTES,
    });
    await app.ready();
    return new Api(app, ctx, dir);
  }

  /** Registers a live worker by a heartbeat, as a worker process does: its class becomes admissible. */
  async registerWorker(name: string, caps: Partial<DeviceCaps> = {}): Promise<void> {
    const now = new Date().toISOString();
    await this.ctx.workers.heartbeat({
      id: `${name}-${randomUUID().slice(0, 8)}`,
      name,
      caps: { ...LAVAPIPE, ...caps },
      adapter: 'fake (test heartbeat)',
      concurrency: 1,
      running: [],
      startedAt: now,
      lastHeartbeat: now,
    });
  }

  /** One request; `token` null sends none. A Uint8Array body goes as application/octet-stream. */
  async call<T = unknown>(
    token: string | null,
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    body?: unknown,
  ): Promise<Reply<T>> {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    let payload: string | Buffer | undefined;
    if (body instanceof Uint8Array) {
      headers['content-type'] = 'application/octet-stream';
      payload = Buffer.from(body);
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    return this.request<T>({ method, url, headers, payload });
  }

  /** A request as given (any header, any body). */
  async request<T = unknown>(opts: InjectOptions): Promise<Reply<T>> {
    const res = await this.app.inject(opts);
    let json: T;
    try {
      json = res.json<T>();
    } catch {
      json = undefined as T;
    }
    return { status: res.statusCode, headers: res.headers, json, raw: res.rawPayload };
  }

  /** Requests as one tenant (by its token), or as the operator with `as('admin')`. */
  as(who: string) {
    const token = who === 'admin' ? this.adminToken : Api.token(who);
    return {
      get: <T = unknown>(url: string) => this.call<T>(token, 'GET', url),
      post: <T = unknown>(url: string, body?: unknown) => this.call<T>(token, 'POST', url, body),
      put: <T = unknown>(url: string, body?: unknown) => this.call<T>(token, 'PUT', url, body),
      delete: <T = unknown>(url: string) => this.call<T>(token, 'DELETE', url),
    };
  }

  async close(): Promise<void> {
    await this.app.close();
    await this.ctx.queues.close();
    await this.ctx.redis.quit().catch(() => {});
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Asserts an error reply: its status, and the one error shape `{ error: { code, message, details? } }`. */
export function expectError(r: Reply, status: number, code: string, message?: RegExp): void {
  expect(r.status, JSON.stringify(r.json)).toBe(status);
  const body = r.json as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).filter((k) => !['code', 'message', 'details'].includes(k))).toEqual([]);
  expect(body.error.code).toBe(code);
  expect(body.error.message).toMatch(message ?? /./);
}

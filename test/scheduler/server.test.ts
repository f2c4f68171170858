// What every route shares: the one error shape, the body limit, health, unknown routes and
// the OpenAPI document — the real API in process, real Redis.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../scheduler/server.ts';
import { createLogger } from '../../shared/logger.ts';
import { Api, expectError } from '../support/api.ts';

let api: Api;
beforeAll(async () => {
  api = await Api.start({ tenants: [{ name: 'a' }] });
});
afterAll(() => api?.close());

describe('the HTTP server', () => {
  it('answers /healthz with the state of Redis', async () => {
    const r = await api.call(null, 'GET', '/healthz');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ ok: true, redis: true });
  });

  it('answers /livez and /readyz: alive, and ready while Redis answers', async () => {
    const live = await api.call(null, 'GET', '/livez');
    expect(live.status).toBe(200);
    expect(live.json).toEqual({ ok: true });
    const ready = await api.call(null, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json).toEqual({ ok: true, redis: true });
    expect((await api.call(null, 'GET', '/metrics')).raw.toString()).toMatch(/^usine_redis_up 1$/m);
  });

  it('answers a job id too long for the router with 414 in the error shape', async () => {
    const r = await api.as('a').get(`/v1/jobs/${'x'.repeat(500)}`);
    expectError(r, 414, 'fst_err_max_param_length', /max param length/);
  });

  it('answers a malformed URL with 400 in the error shape', async () => {
    const r = await api.as('a').get('/v1/jobs/%E0%A4%A');
    expectError(r, 400, 'fst_err_bad_url', /not a valid url/);
  });

  it('answers an unknown route with 404 in the error shape', async () => {
    expectError(await api.as('a').get('/v1/nope'), 404, 'not_found', /no route GET \/v1\/nope/);
    expectError(await api.as('a').delete('/v1/jobs'), 404, 'not_found', /no route DELETE/);
  });

  it('refuses a request body over the limit with 413', async () => {
    const jobs = Array(20_000).fill({ type: 'noop', params: { sleepMs: 0 }, labels: { pad: 'x'.repeat(40) } });
    const r = await api.as('a').post('/v1/jobs/batch', { jobs });
    expectError(r, 413, 'fst_err_ctp_body_too_large', /too large/i);
  });

  it('refuses a body that is not JSON with 400, and a wrong content type with 415, in the error shape', async () => {
    const bad = await api.request({
      method: 'POST',
      url: '/v1/jobs',
      headers: { authorization: `Bearer ${Api.token('a')}`, 'content-type': 'application/json' },
      payload: '{"type": ',
    });
    expectError(bad, 400, 'fst_err_ctp_invalid_json_body');
    const text = await api.request({
      method: 'POST',
      url: '/v1/jobs',
      headers: { authorization: `Bearer ${Api.token('a')}`, 'content-type': 'text/csv' },
      payload: 'a,b',
    });
    expectError(text, 415, 'fst_err_ctp_invalid_media_type');
  });

  it('serves its OpenAPI description', async () => {
    const r = await api.call<{
      paths: Record<string, unknown>;
      components: { requestBodies: Record<string, unknown> };
    }>(null, 'GET', '/v1/openapi.json');
    expect(r.status).toBe(200);
    const doc = r.json;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/jobs',
        '/v1/jobs/{id}',
        '/v1/jobs/{id}/cancel',
        '/v1/workers',
        '/v1/usage',
        '/v1/tenants',
      ]),
    );
    expect(JSON.stringify(doc.components.requestBodies.JobSpec)).toContain('matmul');
  });

  it('times requests by route on /metrics', async () => {
    await api.call(null, 'GET', '/healthz');
    const text = (await api.call(null, 'GET', '/metrics')).raw.toString();
    expect(text).toMatch(
      /^usine_http_request_duration_seconds_count\{method="GET",route="\/healthz",status_code="200"\} [1-9]/m,
    );
    expect(text).toMatch(
      /^usine_http_request_duration_seconds_count\{method="GET",route="unmatched",status_code="404"\} 1$/m,
    );
  });
});

describe('slow clients', () => {
  /** Opens a connection, sends `bytes` and never the rest; resolves with how long until the server closed it. */
  async function stalled(port: number, bytes: string): Promise<{ ms: number; reply: string }> {
    const sock = net.connect(port, '127.0.0.1');
    const t0 = performance.now();
    let reply = '';
    sock.on('data', (d) => (reply += d));
    sock.write(bytes);
    await new Promise<void>((resolve) => sock.once('close', () => resolve()));
    return { ms: performance.now() - t0, reply };
  }

  it('cannot hold a connection with headers or a body that never finish', async () => {
    const opts = { bodyLimit: 1 << 20, uploadLimit: 1 << 20, headersTimeoutMs: 500, requestTimeoutMs: 1500 };
    const app = buildServer(api.ctx, createLogger('scheduler', 'silent'), opts);
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const port = (app.server.address() as AddressInfo).port;
      const headers = await stalled(port, 'GET /livez HTTP/1.1\r\nHost: x\r\n');
      expect(headers.ms).toBeGreaterThan(400);
      expect(headers.ms).toBeLessThan(3000);
      expect(headers.reply).toMatch(/^HTTP\/1\.1 408/);
      const body = await stalled(
        port,
        'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"type"',
      );
      expect(body.ms).toBeGreaterThan(1400);
      expect(body.ms).toBeLessThan(4000);
    } finally {
      await app.close();
    }
  }, 15_000);
});

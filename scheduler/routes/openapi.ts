// /v1/openapi.json: the API described as OpenAPI 3.1, with request schemas generated from
// the same zod schemas that validate requests (so the document cannot drift from the code).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { jobSpec, jobBatch } from '../../shared/job-spec.ts';
import { tenantSchema } from '../state/tenants.ts';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });

const error = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
    },
  },
};
const jobView = {
  type: 'object',
  properties: Object.fromEntries(
    [
      'id',
      'type',
      'tenant',
      'state',
      'priority',
      'waitingFor',
      'progress',
      'result',
      'error',
      'attempts',
      'createdAt',
      'startedAt',
      'finishedAt',
      'worker',
      'preemptions',
      'lastPreemption',
    ].map((k) => [k, {}]),
  ),
};

function op(summary: string, responses: Record<string, string>, extra: object = {}) {
  const r: Record<string, object> = {};
  for (const [code, description] of Object.entries(responses)) {
    r[code] = {
      description,
      content: { 'application/json': { schema: Number(code) >= 400 ? { $ref: '#/components/schemas/Error' } : {} } },
    };
  }
  return { summary, responses: r, ...extra };
}
const body = (ref: string) => ({
  requestBody: { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } },
});
const idParam = { parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }] };
const nameParam = { parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }] };

export function openApiDocument() {
  return {
    openapi: '3.1.0',
    info: {
      title: 'usine',
      version: '1',
      description:
        'GPU job scheduler with WebGPU workers. Errors are { "error": { "code", "message", "details"? } }. ' +
        'While Redis is unreachable, every route that needs it answers 503 redis_unavailable with Retry-After. ' +
        'A tenant over its request rate limit gets 429 rate_limited with Retry-After.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        JobSpec: schema(jobSpec),
        JobBatch: schema(jobBatch),
        Tenant: schema(tenantSchema.omit({ tokenSha256: true })),
        JobView: jobView,
        Error: error,
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/jobs': {
        post: op(
          'Submit a job',
          {
            201: '{id, state}; header usine-durability (replica | primary-only) with USINE_SUBMIT_DURABILITY=replica',
            400: 'invalid spec',
            401: 'no/invalid token',
            422: 'no device class can run it, or too large',
            429: 'tenant quota',
          },
          body('JobSpec'),
        ),
        get: op(
          'List jobs (own; all for admins)',
          { 200: '{jobs: JobView[]}' },
          {
            parameters: ['state', 'type', 'tenant', 'limit'].map((name) => ({
              name,
              in: 'query',
              schema: { type: 'string' },
            })),
          },
        ),
      },
      '/v1/jobs/batch': {
        post: op(
          'Submit many jobs in one request',
          {
            201: '{ids, state}; header usine-durability as for POST /v1/jobs',
            400: 'invalid spec',
            422: 'refused',
            429: 'quota',
          },
          body('JobBatch'),
        ),
      },
      '/v1/jobs/{id}': {
        get: op(
          'A job: state, progress, result',
          { 200: 'JobView', 404: 'unknown (or another tenant’s) job' },
          idParam,
        ),
      },
      '/v1/jobs/{id}/cancel': {
        post: op('Cancel a queued or running job', { 200: 'JobView', 404: 'unknown job' }, idParam),
      },
      '/v1/jobs/{id}/logs': { get: op("A job's log lines", { 200: '{id, logs}', 404: 'unknown job' }, idParam) },
      '/v1/jobs/{id}/artifacts': {
        get: op("A job's artifacts (outputs, checkpoints)", { 200: '{artifacts}', 404: 'unknown job' }, idParam),
      },
      '/v1/artifacts': {
        post: op(
          'Upload a file (application/octet-stream; ?name=)',
          { 201: 'artifact metadata', 413: 'too large', 415: 'not octet-stream' },
          {
            requestBody: {
              required: true,
              content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
            },
          },
        ),
      },
      '/v1/artifacts/{id}': { get: op("An artifact's bytes", { 200: 'the file', 404: 'unknown artifact' }, idParam) },
      '/v1/artifacts/{id}/meta': {
        get: op(
          "An artifact's metadata",
          { 200: '{id, tenant, name, bytes, kind, job, info}', 404: 'unknown artifact' },
          idParam,
        ),
      },
      '/v1/workers': {
        get: op('Live workers: adapter, capabilities, running jobs, last heartbeat', { 200: '{workers}' }),
      },
      '/v1/usage': {
        get: op(
          'Per-tenant device-seconds, jobs and FLOPs over a period',
          { 200: '{from, to, tenants}' },
          {
            parameters: [
              {
                name: 'since',
                in: 'query',
                schema: { type: 'string', examples: ['24h', '7d', '2026-01-01T00:00:00Z'] },
              },
              { name: 'until', in: 'query', schema: { type: 'string' } },
            ],
          },
        ),
      },
      '/v1/tenants': { get: op('Tenants (admin)', { 200: '{tenants}', 403: 'not admin' }) },
      '/v1/tenants/{name}': {
        put: op(
          'Create or change a tenant (admin)',
          { 200: 'changed', 201: 'created', 400: 'invalid', 403: 'not admin' },
          { ...nameParam, ...body('Tenant') },
        ),
        delete: op('Remove a tenant (admin)', { 204: 'removed', 404: 'unknown', 403: 'not admin' }, nameParam),
      },
      '/v1/tenants/{name}/tokens': {
        post: op(
          'Mint a token for a tenant; shown once (admin)',
          { 201: '{tenant, token}', 403: 'not admin' },
          nameParam,
        ),
      },
      '/v1/openapi.json': { get: op('This document', { 200: 'OpenAPI 3.1' }) },
      '/livez': { get: op('Liveness: the process serves', { 200: '{ok: true}' }) },
      '/readyz': {
        get: op('Readiness: Redis answers (503 {ok: false, redis: false} while not)', { 200: '{ok, redis}' }),
      },
      '/healthz': { get: op('Readiness, the same as /readyz', { 200: '{ok, redis}' }) },
      '/metrics': { get: op('Prometheus metrics', { 200: 'text exposition' }) },
    },
  };
}

export function openApiRoute(app: FastifyInstance): void {
  const doc = openApiDocument();
  app.get('/v1/openapi.json', async () => doc);
}

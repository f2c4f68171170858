// /v1/openapi.json: the API described as OpenAPI 3.1. Every schema in it, request, query and
// response, is generated from the zod schemas the code validates requests with and infers its
// response types from, so the document cannot drift from the code (and generated clients are typed).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { jobSpec, jobBatch } from '../../shared/job-spec.ts';
import { jobProgressSchema, jobViewSchema, lastPreemptionSchema, matmulResultSchema } from '../../shared/job-view.ts';
import { artifactMetaSchema } from '../../shared/artifact-meta.ts';
import { deviceCapsSchema, runningJobSchema, workerRecordSchema } from '../../shared/worker-view.ts';
import * as api from '../../shared/api-responses.ts';
import { kernelTuningSchema, tunedEntrySchema, tuningListSchema } from '../../shared/kernel-tuning.ts';
import { tenantSchema } from '../state/tenants.ts';
import { listQuery } from './jobs.ts';
import { usageQuery } from './workers.ts';
import { curvePointSchema, curveQuery, jobCurveSchema } from '../../shared/job-curve.ts';
import { publicTenantSchema, tenantListSchema, whoAmIQuery } from './tenants.ts';

type JsonSchema = Record<string, unknown>;
const REF = (id: string) => `#/components/schemas/${id}`;

/** Response schemas as components, as they are sent; a registered schema nested in another becomes a $ref to it. */
function components(named: Record<string, z.ZodType>): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, s] of Object.entries(named)) registry.add(s, { id });
  const { schemas } = z.toJSONSchema(registry, { io: 'output', unrepresentable: 'any', uri: REF });
  // $schema and $id are per-file JSON Schema keys; inside an OpenAPI document they are noise
  // (and a fragment-only $id is not a valid one).
  return Object.fromEntries(
    Object.entries(schemas).map(([id, { $schema: _s, $id: _i, ...rest }]) => [id, rest as JsonSchema]),
  );
}

/**
 * Request bodies as they may be sent (a field with a default may be left out). They are
 * components/requestBodies, not components/schemas: generators such as openapi-typescript make
 * a field with a default required in a schema (it always is in a response), but not in a request body.
 */
const requestBodies = Object.fromEntries(
  Object.entries({ JobSpec: jobSpec, JobBatch: jobBatch, Tenant: tenantSchema.omit({ tokenSha256: true }) }).map(
    ([id, s]) => {
      const { $schema: _, ...schema } = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
      return [id, { required: true, content: { 'application/json': { schema } } }];
    },
  ),
);
const responseSchemas = components({
  JobView: jobViewSchema,
  JobProgress: jobProgressSchema,
  LastPreemption: lastPreemptionSchema,
  MatmulResult: matmulResultSchema,
  Submitted: api.submittedSchema,
  SubmittedBatch: api.submittedBatchSchema,
  JobList: api.jobListSchema,
  JobLogs: api.jobLogsSchema,
  ArtifactMeta: artifactMetaSchema,
  ArtifactList: api.artifactListSchema,
  DeviceCaps: deviceCapsSchema,
  RunningJob: runningJobSchema,
  WorkerRecord: workerRecordSchema,
  WorkerList: api.workerListSchema,
  UsageTotals: api.usageTotalsSchema,
  UsageReport: api.usageReportSchema,
  PublicTenant: publicTenantSchema,
  TenantList: tenantListSchema,
  TokenMinted: api.tokenMintedSchema,
  TunedEntry: tunedEntrySchema,
  KernelTuning: kernelTuningSchema,
  TuningList: tuningListSchema,
  Liveness: api.livenessSchema,
  Readiness: api.readinessSchema,
  Error: api.apiErrorSchema,
  // The caller's own tenant and the worker list as a tenant sees it (issue 15, console's Tenant/Workers pages).
  WorkerView: api.workerViewSchema,
  TenantStanding: api.tenantStandingSchema,
  WhoAmI: api.whoAmISchema,
  // A train job's curve (routes/job-curve.ts).
  CurvePoint: curvePointSchema,
  JobCurve: jobCurveSchema,
});

/** A query string's parameters, from the zod schema that parses it. */
function queryParameters(s: z.ZodObject, examples: Record<string, unknown[]> = {}) {
  const json = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as { properties: Record<string, object> };
  return Object.entries(json.properties).map(([name, schema]) => ({
    name,
    in: 'query',
    schema: examples[name] ? { ...schema, examples: examples[name] } : schema,
  }));
}

/** A response: a component's name (JSON), or a body of another media type, or none (204). */
type Body = string | { mediaType: string; schema: JsonSchema } | null;
type Responses = Record<number, [description: string, body?: Body]>;

const DURABILITY = {
  'usine-durability': {
    description: 'With USINE_SUBMIT_DURABILITY=replica: whether a replica confirmed the write in time',
    schema: { type: 'string', enum: ['replica', 'primary-only'] },
  },
};

function op(summary: string, responses: Responses, extra: object = {}, headers?: object) {
  const r: Record<string, object> = {};
  for (const [code, [description, given]] of Object.entries(responses)) {
    // Errors have the one shape unless said otherwise; a success says what it returns.
    const body: Body = given !== undefined ? given : Number(code) >= 400 ? 'Error' : null;
    const content =
      body === null
        ? undefined
        : typeof body === 'string'
          ? { 'application/json': { schema: { $ref: REF(body) } } }
          : { [body.mediaType]: { schema: body.schema } };
    if (typeof body === 'string' && !(body in responseSchemas)) throw new Error(`no response schema ${body}`);
    r[code] = { description, ...(content && { content }), ...(headers && Number(code) < 300 && { headers }) };
  }
  return { summary, responses: r, ...extra };
}
const body = (ref: keyof typeof requestBodies) => ({
  requestBody: { $ref: `#/components/requestBodies/${ref}` },
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
      requestBodies,
      schemas: responseSchemas,
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/jobs': {
        post: op(
          'Submit a job',
          {
            201: ['queued', 'Submitted'],
            400: ['invalid spec'],
            401: ['no/invalid token'],
            422: ['no device class can run it, or too large'],
            429: ['tenant quota'],
          },
          body('JobSpec'),
          DURABILITY,
        ),
        get: op(
          'List jobs (own; all for admins)',
          { 200: ['newest first, at most limit', 'JobList'], 400: ['invalid query'] },
          { parameters: queryParameters(listQuery) },
        ),
      },
      '/v1/jobs/batch': {
        post: op(
          'Submit many jobs in one request',
          {
            201: ['queued, in the order given', 'SubmittedBatch'],
            400: ['invalid spec'],
            422: ['refused'],
            429: ['quota'],
          },
          body('JobBatch'),
          DURABILITY,
        ),
      },
      '/v1/jobs/{id}': {
        get: op(
          'A job: state, progress, result',
          { 200: ['the job', 'JobView'], 404: ['unknown (or another tenant’s) job'] },
          idParam,
        ),
      },
      '/v1/jobs/{id}/cancel': {
        post: op(
          'Cancel a queued or running job',
          { 200: ['the job, cancelled unless it had finished', 'JobView'], 404: ['unknown job'] },
          idParam,
        ),
      },
      '/v1/jobs/{id}/logs': {
        get: op("A job's log lines", { 200: ['its log lines', 'JobLogs'], 404: ['unknown job'] }, idParam),
      },
      // A train job's curve (routes/job-curve.ts).
      '/v1/jobs/{id}/curve': {
        get: op(
          "A train job's learning curve: the points after a step (poll with after=next for new ones)",
          { 200: ['points by step', 'JobCurve'], 400: ['invalid after/limit'], 404: ['unknown job'] },
          { parameters: [...idParam.parameters, ...queryParameters(curveQuery, { after: [0, 120] })] },
        ),
      },
      '/v1/jobs/{id}/artifacts': {
        get: op(
          "A job's artifacts (outputs, checkpoints)",
          { 200: ['oldest first', 'ArtifactList'], 404: ['unknown job'] },
          idParam,
        ),
      },
      '/v1/artifacts': {
        post: op(
          'Upload a file (application/octet-stream; ?name=)',
          { 201: ['stored', 'ArtifactMeta'], 413: ['too large'], 415: ['not octet-stream'] },
          {
            parameters: ['name', 'tenant'].map((name) => ({ name, in: 'query', schema: { type: 'string' } })),
            requestBody: {
              required: true,
              content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
            },
          },
        ),
      },
      '/v1/artifacts/{id}': {
        get: op(
          "An artifact's bytes",
          {
            200: ['the file', { mediaType: 'application/octet-stream', schema: { type: 'string', format: 'binary' } }],
            404: ['unknown artifact'],
          },
          idParam,
        ),
      },
      '/v1/artifacts/{id}/meta': {
        get: op(
          "An artifact's metadata",
          { 200: ['its metadata', 'ArtifactMeta'], 404: ['unknown artifact'] },
          idParam,
        ),
      },
      '/v1/workers': {
        get: op(
          "Live workers: adapter, capabilities, running jobs (a tenant's own only; all for admins), last heartbeat",
          { 200: ['by name', 'WorkerList'] },
        ),
      },
      '/v1/usage': {
        get: op(
          'Per-tenant device-seconds, jobs, FLOPs and estimated energy over a period',
          { 200: ['own tenant; all for admins', 'UsageReport'], 400: ['invalid since/until'] },
          { parameters: queryParameters(usageQuery, { since: ['24h', '7d', '2026-01-01T00:00:00Z'] }) },
        ),
      },
      '/v1/kernels/tuning': {
        get: op("What the workers' autotuners chose and measured, per kernel and adapter (any caller)", {
          200: ['by kernel, then adapter; GFLOP/s computed from shape and time', 'TuningList'],
          401: ['no/invalid token'],
        }),
      },
      '/v1/tenants': {
        get: op('Tenants (admin)', { 200: ['the tenant table', 'TenantList'], 403: ['not admin'] }),
      },
      '/v1/tenants/{name}': {
        put: op(
          'Create or change a tenant (admin)',
          {
            200: ['changed', 'PublicTenant'],
            201: ['created', 'PublicTenant'],
            400: ['invalid'],
            403: ['not admin'],
          },
          { ...nameParam, ...body('Tenant') },
        ),
        delete: op('Remove a tenant (admin)', { 204: ['removed'], 404: ['unknown'], 403: ['not admin'] }, nameParam),
      },
      '/v1/tenants/{name}/tokens': {
        post: op(
          'Mint a token for a tenant; shown once (admin)',
          { 201: ['the new token', 'TokenMinted'], 403: ['not admin'], 404: ['unknown tenant'] },
          nameParam,
        ),
      },
      // The caller's own tenant (issue 15).
      '/v1/tenant': {
        get: op(
          "Who the token is, and its tenant's quotas, jobs and fair share now (an admin's: ?tenant=)",
          {
            200: ['the caller, and the tenant (null for an admin without ?tenant=)', 'WhoAmI'],
            400: ['invalid query'],
            403: ["a tenant token naming another tenant's"],
            404: ['unknown tenant'],
          },
          { parameters: queryParameters(whoAmIQuery) },
        ),
      },
      '/v1/openapi.json': {
        get: op('This document', {
          200: ['OpenAPI 3.1', { mediaType: 'application/json', schema: { type: 'object' } }],
        }),
      },
      '/livez': { get: op('Liveness: the process serves', { 200: ['alive', 'Liveness'] }) },
      '/readyz': {
        get: op('Readiness: Redis answers', {
          200: ['ready', 'Readiness'],
          503: ['not ready: Redis does not answer ({ok: false, redis: false})', 'Readiness'],
        }),
      },
      '/healthz': {
        get: op('Readiness, the same as /readyz', {
          200: ['ready', 'Readiness'],
          503: ['not ready ({ok: false, redis: false})', 'Readiness'],
        }),
      },
      '/metrics': {
        get: op('Prometheus metrics', {
          200: ['text exposition', { mediaType: 'text/plain', schema: { type: 'string' } }],
        }),
      },
    },
  };
}

export function openApiRoute(app: FastifyInstance): void {
  const doc = openApiDocument();
  app.get('/v1/openapi.json', async () => doc);
}

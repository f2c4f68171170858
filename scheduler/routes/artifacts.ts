// /v1/artifacts: upload files (e.g. training text), download job outputs and checkpoints.
import fs from 'node:fs';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../api-error.ts';
import { actingTenant, canSee } from '../auth.ts';
import type { SchedulerContext } from '../context.ts';
import type { ArtifactMeta } from '../../shared/artifact-meta.ts';
import type { ArtifactList } from '../../shared/api-responses.ts';

export function artifactRoutes(app: FastifyInstance, ctx: SchedulerContext, uploadLimit: number): void {
  app.addContentTypeParser(
    'application/octet-stream',
    { parseAs: 'buffer', bodyLimit: uploadLimit },
    (_req, body, done) => done(null, body),
  );

  async function visible(req: FastifyRequest, id: string): Promise<ArtifactMeta> {
    const meta = await ctx.artifacts.meta(id);
    if (!meta || !canSee(req, meta.tenant)) throw new ApiError(404, 'not_found', `no artifact with id ${id}`);
    return meta;
  }

  app.post<{ Querystring: { name?: string; tenant?: string } }>('/v1/artifacts', async (req, reply) => {
    if (!Buffer.isBuffer(req.body))
      throw new ApiError(415, 'unsupported_media_type', 'send the file as application/octet-stream');
    const name = (req.query.name ?? 'upload').slice(0, 200);
    const tenant = actingTenant(req, req.query.tenant);
    const meta = await ctx.artifacts.put(
      { tenant, name, contentType: 'application/octet-stream', kind: 'upload' },
      req.body,
    );
    return reply.code(201).send(meta);
  });

  app.get<{ Params: { id: string } }>('/v1/artifacts/:id/meta', async (req): Promise<ArtifactMeta> =>
    visible(req, req.params.id),
  );

  app.get<{ Params: { id: string } }>('/v1/artifacts/:id', async (req, reply) => {
    const meta = await visible(req, req.params.id);
    reply.header('content-type', meta.contentType).header('content-length', meta.bytes);
    reply.header('content-disposition', `attachment; filename="${meta.name.replace(/[^A-Za-z0-9._-]/g, '_')}"`);
    return reply.send(fs.createReadStream(ctx.artifacts.dataPath(meta.id)));
  });

  app.get<{ Params: { id: string } }>('/v1/jobs/:id/artifacts', async (req): Promise<ArtifactList> => {
    const view = await ctx.store.get(req.params.id);
    if (!view || !canSee(req, view.tenant)) throw new ApiError(404, 'not_found', `no job with id ${req.params.id}`);
    return { artifacts: await ctx.artifacts.forJob(req.params.id) };
  });
}

// An artifact's metadata: what the store keeps beside its bytes and what GET /v1/artifacts/{id}/meta
// answers. A zod schema with the TS type inferred from it (the OpenAPI document is generated from
// it); free of Node's modules, so a page can import it.
import { z } from 'zod';

export const artifactMetaSchema = z.object({
  id: z.string(),
  tenant: z.string(),
  name: z.string(),
  bytes: z.number(),
  contentType: z.string(),
  createdAt: z.string(),
  job: z.string().optional().describe('The job that produced it, if any.'),
  kind: z.enum(['upload', 'output', 'checkpoint']),
  info: z.record(z.string(), z.unknown()).optional().describe('Free-form facts (shape, step, …).'),
});
export type ArtifactMeta = z.infer<typeof artifactMetaSchema>;

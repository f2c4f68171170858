// GET /v1/kernels/tuning: what the workers' autotuners measured and chose (the tuning store,
// kernels/autotune/), per kernel and adapter. The route's return type is inferred from these
// schemas and /v1/openapi.json is generated from them. No tenant data: any caller may read it.
import { z } from 'zod';

export const tunedEntrySchema = z.object({
  bucket: z
    .string()
    .describe(
      'The shape class the config serves, e.g. "f32|1024x1024x1024|nn" ' +
        '(matmul: dtype, dims rounded up to powers of two, transposes).',
    ),
  shape: z.record(z.string(), z.number()).describe('The shape it was timed on, e.g. { m, n, k }.'),
  config: z.record(z.string(), z.unknown()).describe("The chosen config (matmul: the tile config's fields)."),
  configKey: z.string().nullable().describe('The config in one word, e.g. "direct-16x1-r4x1-c4"; null if unknown.'),
  ms: z.number().describe("The winner's fastest run on that shape (ms)."),
  gflops: z
    .number()
    .nullable()
    .describe('Computed by the scheduler from the shape and ms (matmul: 2·m·n·k); null where no formula is known.'),
  tunedAt: z.string().describe('When it was tuned (ISO 8601).'),
  candidates: z
    .array(z.object({ key: z.string(), ms: z.number() }))
    .describe('Every config timed, fastest first (empty if not recorded).'),
});
export type TunedEntry = z.infer<typeof tunedEntrySchema>;

export const kernelTuningSchema = z.object({
  kernel: z.string().describe('e.g. "matmul".'),
  adapter: z.string().describe('The adapter key workers share results by, e.g. "mesa-software-llvmpipe-…".'),
  entries: z.array(tunedEntrySchema).describe('Smallest shape first.'),
});
export type KernelTuning = z.infer<typeof kernelTuningSchema>;

export const tuningListSchema = z.object({
  tunings: z.array(kernelTuningSchema).describe('By kernel, then adapter.'),
});
export type TuningList = z.infer<typeof tuningListSchema>;

// The infer job: greedy or sampled decoding from a checkpoint, with a KV cache on the device.
import type { InferJobParams } from '../../shared/train/job-params.ts';
import { runInference } from '../train/infer-run.ts';
import type { JobContext } from './job-context.ts';
import { newestCheckpoint } from './checkpoints.ts';
import { InputError } from '../../kernels/errors.ts';

export class MissingCheckpointError extends InputError {
  override name = 'MissingCheckpointError';
}

export async function runInferJob(p: InferJobParams, ctx: JobContext) {
  let id: string;
  if ('artifact' in p.checkpoint) {
    id = p.checkpoint.artifact;
  } else {
    const found = await newestCheckpoint(ctx.artifacts, p.checkpoint.job, true);
    if (!found) throw new MissingCheckpointError(`job ${p.checkpoint.job} left no final checkpoint`);
    id = found.id;
  }
  const meta = await ctx.artifacts.meta(id);
  if (!meta || meta.tenant !== ctx.tenant || meta.kind !== 'checkpoint')
    throw new MissingCheckpointError(`no checkpoint artifact ${id}`);
  await ctx.progress({ percent: 10, message: 'decoding' });
  const r = await runInference({ device: ctx.gpu.device, params: p, checkpoint: await ctx.artifacts.read(id) });
  return {
    checkpoint: id,
    tokensPerSecond: r.tokensPerSecond,
    outputs: r.outputs.map((o) => ({ prompt: o.prompt, text: o.text })),
  };
}

// Failures by class, through a real scheduler and worker: an input error (here a checkpoint
// that stopped decoding after admission) fails its job on the first attempt with its reason;
// retrying could only fail the same way again.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsineClient } from '../../client/client.ts';
import { ArtifactStore } from '../../shared/artifact-store.ts';
import { Cluster, jobUntil } from '../support/cluster.ts';
import { tinyCheckpoint } from '../support/checkpoint.ts';

const cluster = new Cluster({ port: 8930, workers: [{}] });
const client = new UsineClient({ url: cluster.url });

beforeAll(() => cluster.start());
afterAll(() => cluster.stop());

describe('non-retryable failures', () => {
  it('fails a job whose checkpoint is corrupt once, with its reason', async () => {
    const artifacts = new ArtifactStore(cluster.env.USINE_ARTIFACT_DIR);
    const meta = {
      tenant: 'default',
      name: 'model.safetensors',
      contentType: 'application/octet-stream',
      kind: 'checkpoint' as const,
    };
    const ckpt = await artifacts.put(meta, tinyCheckpoint());
    // The infer job waits for a blocker, so the file can change between admission (which
    // decodes it and accepts) and the worker's read.
    const blocker = await client.submit({ type: 'noop', params: { sleepMs: 1500 } });
    const { id } = await client.submit({
      type: 'infer',
      params: { checkpoint: { artifact: ckpt.id }, prompts: ['12='], maxNewTokens: 2 },
      dependsOn: blocker.id,
    });
    fs.writeFileSync(artifacts.dataPath(ckpt.id), 'truncated');
    const v = await jobUntil(client, id, (x) => x.state === 'failed' || x.state === 'succeeded', 60_000);
    expect(v.state).toBe('failed');
    expect(v.attempts).toBe(1);
    expect(v.error).toMatch(/not a readable checkpoint/);
    // The default attempts (3) would have retried it: one attempt ran, and the log says why it ended.
    const { logs } = await client.logs(id);
    expect(logs.filter((l) => / attempt \d+ started/.test(l))).toHaveLength(1);
    expect(logs.at(-1)).toMatch(/failed after \d+ ms: not a readable checkpoint/);
  });
});

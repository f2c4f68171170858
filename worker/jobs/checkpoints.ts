// A train job's checkpoints in the artifact store: saved under the job's id, so a retried
// attempt (worker killed, job re-run) finds the newest one and resumes from it.
import type { ArtifactStore, ArtifactMeta } from '../../shared/artifact-store.ts';
import { TrainJobError, type CheckpointStore, type TextSource } from '../train/train-run.ts';

export class ArtifactCheckpoints implements CheckpointStore {
  lastSaved: ArtifactMeta | null = null;

  constructor(
    private readonly artifacts: ArtifactStore,
    private readonly tenant: string,
    private readonly job: string,
  ) {}

  async latest(): Promise<Uint8Array | null> {
    const newest = await newestCheckpoint(this.artifacts, this.job);
    return newest ? this.artifacts.read(newest.id) : null;
  }

  async save(step: number, bytes: Uint8Array, final: boolean): Promise<void> {
    this.lastSaved = await this.artifacts.put(
      {
        tenant: this.tenant,
        job: this.job,
        name: `checkpoint-step-${step}.safetensors`,
        contentType: 'application/octet-stream',
        kind: 'checkpoint',
        info: { step, final },
      },
      bytes,
    );
  }
}

/** The newest checkpoint artifact of a job (by step), or null. */
export async function newestCheckpoint(
  artifacts: ArtifactStore,
  job: string,
  finalOnly = false,
): Promise<ArtifactMeta | null> {
  const all = (await artifacts.forJob(job)).filter(
    (a) => a.kind === 'checkpoint' && (!finalOnly || a.info?.final === true),
  );
  all.sort((a, b) => Number(a.info?.step ?? 0) - Number(b.info?.step ?? 0));
  return all.at(-1) ?? null;
}

/** Uploaded texts, readable only by their own tenant. */
export class ArtifactTexts implements TextSource {
  constructor(
    private readonly artifacts: ArtifactStore,
    private readonly tenant: string,
  ) {}

  async read(id: string): Promise<string> {
    const meta = await this.artifacts.meta(id);
    if (!meta || meta.tenant !== this.tenant) throw new TrainJobError(`no artifact ${id} for tenant ${this.tenant}`);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(await this.artifacts.read(id));
    } catch (e) {
      throw new TrainJobError(`artifact ${id} is not UTF-8 text: ${(e as Error).message}`);
    }
  }
}

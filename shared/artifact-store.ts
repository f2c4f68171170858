// Artifacts: files that are too large for a job's inline result (outputs, checkpoints) or
// that users upload (training text). A folder shared by the scheduler and the workers
// (a local disk on one machine; a shared volume in a cluster). Writes go to a temporary
// name and are renamed into place, so a crash never leaves half a file behind.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactMeta } from './artifact-meta.ts';

export { artifactMetaSchema, type ArtifactMeta } from './artifact-meta.ts';

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class ArtifactStore {
  constructor(readonly dir: string) {
    fs.mkdirSync(path.join(dir, 'jobs'), { recursive: true });
  }

  static isId(id: string): boolean {
    return ID.test(id);
  }

  private folder(id: string): string {
    if (!ArtifactStore.isId(id)) throw new Error(`not an artifact id: ${id}`);
    return path.join(this.dir, id.slice(0, 2), id);
  }

  /** The file holding an artifact's bytes. */
  dataPath(id: string): string {
    return path.join(this.folder(id), 'data');
  }

  async put(meta: Omit<ArtifactMeta, 'id' | 'bytes' | 'createdAt'>, data: Uint8Array): Promise<ArtifactMeta> {
    const id = randomUUID();
    const folder = this.folder(id);
    const tmp = `${folder}.tmp-${process.pid}`;
    await fsp.mkdir(tmp, { recursive: true });
    const full: ArtifactMeta = { ...meta, id, bytes: data.byteLength, createdAt: new Date().toISOString() };
    await fsp.writeFile(path.join(tmp, 'data'), data);
    await fsp.writeFile(path.join(tmp, 'meta.json'), JSON.stringify(full));
    await fsp.rename(tmp, folder);
    if (meta.job) {
      const index = path.join(this.dir, 'jobs', meta.job.replace(/[^A-Za-z0-9_-]/g, '_'));
      await fsp.mkdir(index, { recursive: true });
      await fsp.writeFile(path.join(index, id), '');
    }
    return full;
  }

  async meta(id: string): Promise<ArtifactMeta | null> {
    if (!ArtifactStore.isId(id)) return null;
    try {
      return JSON.parse(await fsp.readFile(path.join(this.folder(id), 'meta.json'), 'utf8')) as ArtifactMeta;
    } catch {
      return null;
    }
  }

  async read(id: string): Promise<Uint8Array> {
    return new Uint8Array(await fsp.readFile(this.dataPath(id)));
  }

  /** A job's artifacts, oldest first. */
  async forJob(job: string): Promise<ArtifactMeta[]> {
    let ids: string[];
    try {
      ids = await fsp.readdir(path.join(this.dir, 'jobs', job.replace(/[^A-Za-z0-9_-]/g, '_')));
    } catch {
      return [];
    }
    const metas = (await Promise.all(ids.map((id) => this.meta(id)))).filter((m): m is ArtifactMeta => m !== null);
    return metas.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }
}

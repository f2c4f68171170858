// A benchmark's own Redis: a fresh one on a free port, its data in a temporary folder, so that
// figures are not mixed with another Redis' load and nothing is left behind. `stop` takes it
// down and removes the folder (callers hand it to onInterrupt with the rest of their cleanup).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureRedis } from '../../shared/redis-server.ts';
import { freePort } from './free-port.ts';

export interface OwnRedis {
  url: string;
  stop(): Promise<void>;
}

/** `name`: the benchmark's, in the temporary folder's name. */
export async function ownRedis(name: string): Promise<OwnRedis> {
  const url = `redis://127.0.0.1:${await freePort()}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `usine-${name}-`));
  const server = await ensureRedis(url, dir);
  return {
    url,
    stop: async () => {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

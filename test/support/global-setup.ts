// Once per test run: a Redis of the tests' own (port 6390 unless TEST_REDIS_URL is set),
// started with its data in a temporary folder so tests never touch a user's Redis.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureRedis } from '../../shared/redis-server.ts';

export default async function setup(project: TestProject) {
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const url = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6390';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usine-test-redis-'));
  const redis = await ensureRedis(url, dir);
  project.provide('redisUrl', url);
  return async () => {
    await redis.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

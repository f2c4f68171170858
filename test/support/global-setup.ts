// Once per test run: a Redis of the tests' own (port 6390 unless TEST_REDIS_URL is set),
// started with its data in a temporary folder so tests never touch a user's Redis.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { dropDawnLimitWarnings } from '../../kernels/dawn-warnings.ts';
import { ensureRedis } from '../../shared/redis-server.ts';

export default async function setup(project: TestProject) {
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  quietDawnInTestProcesses();
  const url = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6390';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usine-test-redis-'));
  const redis = await ensureRedis(url, dir);
  project.provide('redisUrl', url);
  return async () => {
    await redis.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
}

/**
 * Test files run in child processes whose stderr is a socket to this one, where
 * kernels/dawn-warnings.ts cannot divert Dawn's limit lines; vitest copies that stderr into
 * ours with write(), so drop them here. Dawn writes each line in one write(), so a chunk
 * holds whole lines; anything else passes unchanged.
 */
function quietDawnInTestProcesses() {
  if (process.env.USINE_DAWN_WARNINGS) return;
  const write = process.stderr.write.bind(process.stderr) as (chunk: unknown, ...rest: unknown[]) => boolean;
  process.stderr.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk !== 'string' && !Buffer.isBuffer(chunk)) return write(chunk, ...rest);
    const text = chunk.toString();
    const kept = dropDawnLimitWarnings(text);
    if (kept === text) return write(chunk, ...rest);
    const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    if (kept) return write(kept, done);
    if (done) queueMicrotask(done);
    return true;
  }) as typeof process.stderr.write;
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

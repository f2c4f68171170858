// Starting a local redis-server when none answers (quick start and tests).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { redactUrl, redisAnswers } from './redis.ts';

export interface LocalRedis {
  url: string;
  /** Null when an already-running Redis was used. */
  process: ChildProcess | null;
  stop(): Promise<void>;
}

/**
 * Returns a Redis at `url`: the one that answers there, or a new redis-server on that
 * port that keeps its data with AOF in `dataDir`. Only loopback URLs are started.
 */
export async function ensureRedis(url: string, dataDir: string): Promise<LocalRedis> {
  if (await redisAnswers(url)) return { url, process: null, stop: async () => {} };
  const u = new URL(url);
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(u.hostname)) {
    throw new Error(
      `Redis does not answer at ${redactUrl(url)}, and usine only starts a Redis on this machine (127.0.0.1). Start it, or set REDIS_URL.`,
    );
  }
  const port = u.port || '6379';
  fs.mkdirSync(dataDir, { recursive: true });
  const args = [
    '--port',
    port,
    '--bind',
    '127.0.0.1',
    '--dir',
    path.resolve(dataDir),
    '--appendonly',
    'yes',
    '--save',
    '',
    '--daemonize',
    'no',
  ];
  // BullMQ needs maxmemory-policy noeviction (the default), and no password here.
  const proc = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  // Detached: a terminal's Ctrl-C must not stop Redis before the workers hand back their jobs.
  let stderr = '';
  proc.stderr?.on('data', (d) => (stderr += d));
  const failed = new Promise<never>((_, reject) => {
    proc.once('error', (e) =>
      reject(new Error(`cannot start redis-server (${e.message}); install it: apt-get install redis-server`)),
    );
    proc.once('exit', (code) => reject(new Error(`redis-server exited with code ${code}: ${stderr.trim()}`)));
  });
  const ready = (async () => {
    for (let i = 0; i < 100; i++) {
      if (await redisAnswers(url, 200)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`redis-server did not answer at ${redactUrl(url)} within 10 s`);
  })();
  await Promise.race([ready, failed]);
  failed.catch(() => {});
  return {
    url,
    process: proc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM'); // redis-server flushes the AOF on SIGTERM
      }),
  };
}

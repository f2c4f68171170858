// Redis servers of a test's own (a password, TLS, a primary with a replica, sentinels): real
// redis-server processes on the test's ports, each with its own temporary folder.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectRedis, type RedisTarget } from '../../shared/redis.ts';

export interface RedisProc {
  port: number;
  dir: string;
  proc: ChildProcess;
  output(): string;
  /** SIGTERM (or `signal`), and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `redis-server` with `args` (after --port, --bind and --dir) in a new temporary folder;
 * `conf` (a sentinel's configuration) is written there and passed first. Resolves once the
 * server's log says it is ready; `answers` (when given) must also PING.
 */
export async function startRedis(
  port: number,
  args: string[],
  o: { conf?: string; sentinel?: boolean; answers?: RedisTarget } = {},
): Promise<RedisProc> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `usine-redis-${port}-`));
  const first: string[] = [];
  if (o.conf !== undefined) {
    fs.writeFileSync(path.join(dir, 'redis.conf'), o.conf);
    first.push(path.join(dir, 'redis.conf'));
  }
  if (o.sentinel) first.push('--sentinel');
  const proc = spawn(
    'redis-server',
    [...first, '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const me: RedisProc = {
    port,
    dir,
    proc,
    output: () => out,
    stop: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill(signal);
      }),
  };
  const end = Date.now() + 10_000;
  while (!/Ready to accept connections|Sentinel ID is/.test(out)) {
    if (proc.exitCode !== null) throw new Error(`redis-server on ${port} exited (${proc.exitCode}):\n${out}`);
    if (Date.now() > end) throw new Error(`redis-server on ${port} not ready after 10 s:\n${out}`);
    await sleep(50);
  }
  if (o.answers) {
    const r = connectRedis(o.answers, { maxRetriesPerRequest: 1 });
    try {
      await r.ping();
    } finally {
      r.disconnect();
    }
  }
  return me;
}

/** Stops them all and removes their folders. */
export async function stopAll(procs: (RedisProc | undefined)[]): Promise<void> {
  await Promise.all(procs.map((p) => p?.stop('SIGKILL')));
  for (const p of procs) if (p) fs.rmSync(p.dir, { recursive: true, force: true });
}

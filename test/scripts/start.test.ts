// `npm start` (scripts/start.ts): a hang-up (the terminal closed) stops everything it started,
// the Redis included; it answers --help and refuses unknown options without a stack trace.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { redisAnswers } from '../../shared/redis.ts';
import { ROOT, startTs, type Child } from '../support/processes.ts';

const API_PORT = 8760;
const WORKER_PORT = 8761;
const REDIS_PORT = 8769;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usine-start-'));
const leftovers = new Set<number>();

afterAll(() => {
  // Only after a failure: whatever outlived start.ts.
  for (const pid of leftovers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Processes (pid → command line) whose parent is `ppid`, from /proc (Linux). */
function childrenOf(ppid: number): Map<number, string> {
  const out = new Map<number, string>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // The parent pid is the 2nd field after the command name, which is in parentheses.
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) {
        out.set(Number(d), fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').replaceAll('\0', ' '));
      }
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function run(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const argv = ['--import', 'tsx', 'scripts/start.ts', ...args];
    const { stdout, stderr } = await promisify(execFile)(process.execPath, argv, { cwd: ROOT });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout + err.stderr };
  }
}

describe('npm start', () => {
  it('stops the scheduler, the workers and the Redis it started on SIGHUP', async () => {
    const redisUrl = `redis://127.0.0.1:${REDIS_PORT}`;
    expect(await redisAnswers(redisUrl), `something already answers on ${REDIS_PORT}`).toBe(false);
    const env = {
      REDIS_URL: redisUrl,
      USINE_PORT: String(API_PORT),
      USINE_WORKER_METRICS_PORT: String(WORKER_PORT),
      USINE_DATA_DIR: dir,
      USINE_ARTIFACT_DIR: path.join(dir, 'artifacts'),
    };
    let start: Child | undefined;
    try {
      start = await startTs('scripts/start.ts', env, /worker ready/, 60_000);
      const all = /scheduler listening/;
      for (let i = 0; i < 200 && !all.test(start.output()); i++) await new Promise((r) => setTimeout(r, 100));
      expect(start.output()).toMatch(/started redis-server at/);
      const children = childrenOf(start.proc.pid!);
      for (const pid of children.keys()) leftovers.add(pid);
      const cmds = [...children.values()];
      expect(cmds.filter((c) => /redis-server/.test(c))).toHaveLength(1);
      expect(cmds.filter((c) => /scheduler\/main\.ts/.test(c))).toHaveLength(1);
      expect(cmds.filter((c) => /worker\/main\.ts/.test(c)).length).toBeGreaterThanOrEqual(1);

      expect(await start.stop('SIGHUP'), start.output()).toBe(0);
      expect(start.output()).toMatch(/usine: stopped/);
      // Gone within 2 s (a helper such as tsx's esbuild service notices its parent's exit on its own).
      for (let i = 0; i < 20 && [...children.keys()].some(alive); i++) await new Promise((r) => setTimeout(r, 100));
      for (const [pid, cmd] of children) expect(alive(pid), `${cmd} outlived start.ts`).toBe(false);
      expect(await redisAnswers(redisUrl)).toBe(false);
    } finally {
      await start?.stop('SIGKILL');
    }
  });

  it('answers --help, and refuses an unknown option with a message, no stack trace', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/Usage: npm start/);
    expect(help.out).toMatch(/REDIS_URL/);
    const bad = await run(['--nope']);
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(/unknown option '--nope'/);
    expect(bad.out).not.toMatch(/\n\s+at /);
  });
});

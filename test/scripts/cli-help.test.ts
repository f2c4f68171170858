// Every command a user runs answers --help (exit 0, its options listed) without opening a GPU
// or Redis, and refuses an unknown option with one line on stderr and exit code 2.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');

const COMMANDS: { file: string; options: string[] }[] = [
  {
    file: 'kernels/bench/main.ts',
    options: [
      '--kernel',
      '--sizes',
      '--dtype',
      '--repeats',
      '--warmup',
      '--impls',
      '--json',
      '--tune',
      '--tuning-dir',
      '--adapter',
      '--no-progress',
    ],
  },
  {
    file: 'scripts/bench-scheduler.ts',
    options: [
      '--jobs',
      '--batch',
      '--concurrency',
      '--warmup-jobs',
      '--rounds',
      '--latency-jobs',
      '--port',
      '--json',
      '--redis-stats',
      '--cpu-prof',
    ],
  },
  {
    file: 'scripts/bench-scale.ts',
    options: [
      '--tenants',
      '--workers',
      '--classes',
      '--jobs',
      '--concurrency',
      '--warmup-jobs',
      '--max-seconds',
      '--idle-seconds',
      '--json',
    ],
  },
  {
    file: 'scripts/simulate.ts',
    options: ['--devices', '--tenants', '--hours', '--seed', '--load', '--half-life', '--catch-up', '--tick', '--json'],
  },
  { file: 'worker/train/bench/train-bench.ts', options: ['--steps', '--json'] },
  { file: 'scripts/device/kernel-check.ts', options: ['--quick', '--json'] },
  {
    file: 'worker/train/train-local.ts',
    options: [
      '--task',
      '--length',
      '--steps',
      '--batch',
      '--layers',
      '--d <n>',
      '--heads',
      '--ff',
      '--lr',
      '--warmup',
      '--eval-every',
      '--eval-examples',
      '--seed',
    ],
  },
  { file: 'worker/train/profile-step.ts', options: ['--d <n>', '--layers', '--heads', '--ff', '--batch', '--length'] },
  { file: 'deploy/grafana/dashboards.ts', options: ['--help'] },
  { file: 'deploy/k8s/prometheus-rule.ts', options: ['--help'] },
  { file: 'client/cli.ts', options: ['--url', '--token', 'submit', 'doctor'] },
  { file: 'scripts/setup-system.sh', options: ['--with-prometheus'] },
  { file: 'scripts/chaos.ts', options: ['--only', '--json', '--short', '--base-port', 'redis-stop', 'sentinel'] },
  { file: 'scripts/bench-preemption.ts', options: ['--only', '--b-seconds', '--port', '--json', '--logs'] },
  { file: 'scripts/bench-durability.ts', options: ['--seconds', '--clients', '--batch', '--rounds', '--port'] },
  { file: 'scripts/bench-snapshot.ts', options: ['--queues', '--calls'] },
  { file: 'scripts/bench-round.ts', options: ['--tenants', '--slots', '--rounds', '--json'] },
];

// No Vulkan driver and no Redis or scheduler to reach: a command that opened either before
// printing its help would fail instead.
const env = {
  ...process.env,
  VK_ICD_FILENAMES: '/nonexistent/icd.json',
  VK_DRIVER_FILES: '/nonexistent/icd.json',
  USINE_URL: 'http://127.0.0.1:9',
  REDIS_URL: 'redis://127.0.0.1:9',
};

function run(file: string, arg: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [cmd, args] = file.endsWith('.sh') ? ['bash', [file, arg]] : [process.execPath, ['--import', 'tsx', file, arg]];
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { cwd: root, env, timeout: 60_000 }, (_err, stdout, stderr) =>
      resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

describe.concurrent('command lines', () => {
  it.each(COMMANDS)('$file --help lists its options and exits 0', async ({ file, options }) => {
    const r = await run(file, '--help');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: /);
    expect(r.stdout).toMatch(/Examples?:\n/);
    for (const o of options) expect(r.stdout).toContain(o);
  });

  it.each(COMMANDS)('$file refuses an unknown option in one line, exit 2', async ({ file }) => {
    const r = await run(file, '--no-such-option');
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: unknown option '--no-such-option' \(see .+ --help\)\n$/);
    expect(r.code).toBe(2);
  });
});

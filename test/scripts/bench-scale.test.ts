// bench:scale's smallest cell end to end: it starts its own Redis on a free port, runs the
// dispatch round and two in-process pullers over two tenants, and reports figures in the
// issue's JSON shape.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runScript } from '../support/run-script.ts';

it('runs the T=2, W=2 cell twice and reports sane figures, and their medians', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-scale-test-'));
  const json = path.join(dir, 'scale.json');
  const args = ['--tenants', '2', '--workers', '2', '--jobs', '300', '--warmup-jobs', '0', '--idle-seconds', '2'];
  args.push('--repeat', '2', '--steady-seconds', '1', '--breakdown');
  args.push('--json', json);
  const stdout = await runScript('scripts/bench-scale.ts', args);
  const { scale, summary } = JSON.parse(fs.readFileSync(json, 'utf8'));
  fs.rmSync(dir, { recursive: true, force: true });
  expect(scale.map((c: { run: number }) => c.run)).toEqual([0, 1]);
  expect(summary).toHaveLength(1);
  const rates = scale.map((c: { jobsPerSec: number }) => c.jobsPerSec).sort((a: number, b: number) => a - b);
  expect(summary[0]).toMatchObject({ tenants: 2, workers: 2, runs: 2, jobsPerSec: (rates[0] + rates[1]) / 2 });
  const c = scale[0];
  expect(c).toMatchObject({ dispatch: 'grants', tenants: 2, classes: 1, workers: 2, jobsDone: 300, finished: true });
  expect(c.jobsPerSec).toBeGreaterThan(10);
  expect(c.submitToStartMs.p50).toBeGreaterThanOrEqual(0);
  expect(c.submitToStartMs.p99).toBeGreaterThanOrEqual(c.submitToStartMs.p50);
  // A job costs BullMQ a few commands at least (add, move to active, complete), and CPU.
  expect(c.redisCommandsPerJob).toBeGreaterThan(3);
  expect(c.redisMicrosPerJob).toBeGreaterThan(0);
  // The breakdown: BullMQ's scripts among the commands, CPU spent by Redis and the pullers.
  expect(c.commandsPerJob.evalsha).toBeGreaterThan(1);
  expect(c.cpuMicrosPerJob.redis).toBeGreaterThan(0);
  expect(c.redisMicrosPerJobByCommand.evalsha).toBeGreaterThan(0);
  expect(c.cpuMicrosPerJob.pullers).toBeGreaterThan(0);
  expect(stdout).toMatch(/CPU µs\/job: Redis \d+, round \d+, pullers \d+/);
  expect(stdout).toMatch(/medians over 2 runs/);
  expect(c.rounds).toBeGreaterThan(0);
  // An idle installation costs close to nothing: the round's tick (its snapshot script and the
  // SMEMBERS inside it, the live key, its news: 4/s), nothing from pullers taking grants, and each
  // puller's read of the empty index once per lock period for its stalled-job checks (before the
  // index: a full round a second, 12+/s each puller). A 2 s window may hold a third tick and a
  // stalled-check read or two (up to 7/s); over 1 s, 5 was seen now and then.
  expect(c.idleRedisCommandsPerSec).toBeLessThan(8);
  expect(stdout).toMatch(/\| 2 +\| 2 +\| \d+/);
}, 60_000);

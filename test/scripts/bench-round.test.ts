// bench:round end to end: it starts its own Redis on a free port, times leader-style rounds at
// two tenant counts, and reports what #14 asks of a round: its Redis commands do not grow with
// the tenants.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runScript } from '../support/run-script.ts';

it('times rounds at 1 and 60 tenants: every slot granted, the same Redis commands per round', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-round-test-'));
  const json = path.join(dir, 'round.json');
  const args = ['--tenants', '1,60', '--slots', '40', '--rounds', '10', '--json', json];
  const stdout = await runScript('scripts/bench-round.ts', args);
  const { rounds } = JSON.parse(fs.readFileSync(json, 'utf8'));
  fs.rmSync(dir, { recursive: true, force: true });
  expect(rounds.map((r: { tenants: number }) => r.tenants)).toEqual([1, 60]);
  for (const r of rounds) {
    expect(r.grantsPerRound).toBe(40);
    expect(r.cpuMsPerRound).toBeGreaterThan(0);
    expect(r.wallMsPerRound).toBeGreaterThan(0);
    expect(r.redisMsPerRound).toBeGreaterThan(0);
  }
  // The counts of the queues that moved come in one script, whatever their number.
  expect(rounds[1].redisCommandsPerRound).toBe(rounds[0].redisCommandsPerRound);
  expect(stdout).toMatch(/\| 60 \| 40 \| [\d.]+ \| [\d.]+× \|/);
}, 60_000);

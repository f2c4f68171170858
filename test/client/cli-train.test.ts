// A train job from the CLI as a new user writes it: a spec file with only the model, the data,
// steps and batch size (no schedule), `--wait`, then `status`. The CLI prints a summary with the
// curve as a sparkline; --json keeps every loss. A bad schedule is refused naming its field.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsineClient } from '../../client/client.ts';
import type { JobSpecInput } from '../../shared/job-spec.ts';
import { Cluster } from '../support/cluster.ts';
import { runCli } from '../support/processes.ts';

const cluster = new Cluster({ port: 8550, workers: [{}] });
beforeAll(() => cluster.start());
afterAll(() => cluster.stop());

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usine-cli-train-'));
const specFile = (name: string, params: object) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify({ type: 'train', params }));
  return file;
};
const params = {
  model: { vocabSize: 13, contextLength: 9, layers: 1, dModel: 16, heads: 2, dFF: 32 },
  data: { source: 'task', task: { kind: 'reverse', length: 4 } },
  steps: 60,
  batchSize: 16,
};
const cli = (...args: string[]) => runCli(['--url', cluster.url, ...args]);

describe('usine and a train job', () => {
  it('submit --wait and status print a summary with a sparkline; --json has every loss', async () => {
    const r = await cli('submit', '--file', specFile('train.json', params), '--wait');
    expect(r.code, r.stderr).toBe(0);
    const id = /job (\S+) \(train, tenant default\): succeeded/.exec(r.stdout)![1];
    expect(r.stdout).toMatch(/trained 60 steps in [\d.]+ s, \d+ tokens\/s/);
    expect(r.stdout).toMatch(/loss: [\d.]+ at step 1 → [\d.]+ at step 60/);
    expect(r.stdout).toMatch(/curve: [▁▂▃▄▅▆▇█]{40}\n/);
    expect(r.stdout).toMatch(/held-out at step 60: loss [\d.]+, token accuracy [\d.]+%, exact match [\d.]+%/);
    expect(r.stdout).toMatch(/checkpoint: artifact \S+; usine download \S+/);
    expect(r.stdout).not.toMatch(/losses|\[/);
    // Followed through the curve: one line per held-out evaluation (here only the last), not one per step.
    expect(r.stderr).toMatch(/^step 60\/60 loss [\d.]+ held-out loss [\d.]+ exact [\d.]+% [\d,]+ tokens\/s$/m);
    expect(r.stderr.trim().split('\n').length, r.stderr).toBeLessThanOrEqual(4);

    const s = await cli('status', id);
    expect(s.stdout).toContain(r.stdout.slice(r.stdout.indexOf('trained')));
    const full = JSON.parse((await cli('status', id, '--json')).stdout);
    expect(full.result.losses).toHaveLength(60);
    expect(full.result.evaluations.at(-1).step).toBe(60);
  });

  it('refuses a bad schedule with 400 and the field it names', async () => {
    const badParams = { ...params, schedule: { lr: -1 } };
    const spec = { type: 'train', params: badParams } as JobSpecInput;
    await expect(new UsineClient({ url: cluster.url }).submit(spec)).rejects.toMatchObject({
      status: 400,
      code: 'invalid_spec',
      details: [{ field: 'params.schedule.lr', reason: expect.any(String) }],
    });
    const r = await cli('submit', '--file', specFile('bad.json', badParams));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/params\.schedule\.lr/);
  });
});

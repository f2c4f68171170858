// The chaos suite's short version (npm run chaos -- --short runs the same code): a worker
// killed mid-train, the scheduler killed, Redis killed and restarted on its AOF, Redis frozen.
// Each fault on a cluster of its own (own redis-server) on ports 8640–8647, jobs flowing.
import { describe, expect, it } from 'vitest';
import { FAULTS, runFault, type FaultRow } from '../../scripts/chaos/faults.ts';

const BASE_PORT = 8640;
const run = (name: string): Promise<FaultRow> =>
  runFault(
    FAULTS.find((f) => f.name === name)!,
    BASE_PORT,
    true,
    () => {},
  );

describe('chaos (short)', () => {
  it('a worker SIGKILLed mid-train: the job resumes from its checkpoint on the other worker; nothing lost', async () => {
    const row = await run('worker-kill-train');
    expect(row.note).toMatch(/resumed from step ([5-9]|\d\d)\b.*succeeded with 30\/30 steps/);
    expect(row).toMatchObject({ lost: 0, duplicated: 0 });
    expect(row.submitted).toBeGreaterThan(1);
  }, 150_000);

  it('the scheduler SIGKILLed and restarted: nothing lost, nothing completed twice', async () => {
    const row = await run('scheduler-kill');
    expect(row).toMatchObject({ lost: 0, duplicated: 0 });
    expect(row.apiDuringFault.refused).toBeGreaterThan(0); // the fault did happen
    expect(row.recoverySeconds).not.toBeNull();
  }, 60_000);

  it('Redis SIGKILLed and restarted on its AOF: nothing lost, the API answered within 1 s', async () => {
    const row = await run('redis-kill');
    expect(row).toMatchObject({ lost: 0, duplicated: 0 });
    expect(row.apiDuringFault.hung).toBe(0);
    expect(row.recoverySeconds).toBeLessThan(15);
  }, 60_000);

  it('Redis frozen: every request answered within 1 s (503), nothing lost, flowing again within 15 s', async () => {
    const row = await run('redis-stop');
    expect(row).toMatchObject({ lost: 0, duplicated: 0 });
    expect(row.apiDuringFault).toMatchObject({ answeredWithin1s: 1, hung: 0 });
    expect(row.apiDuringFault.status503).toBeGreaterThan(0);
    expect(row.recoverySeconds).toBeLessThan(15);
  }, 60_000);
});

// USINE_SUBMIT_DURABILITY=replica against a real primary and replica: a submit answers once a
// replica has it (usine-durability: replica); with the replica gone it still answers 201, after
// the timeout, saying primary-only; without the setting nothing waits and no header is sent.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Cluster } from '../support/cluster.ts';
import { startRedis, stopAll, type RedisProc } from '../support/redis-servers.ts';

const PRIMARY = 8620; // and its replica on 8621
const API_REPLICA = 8622; // a scheduler with USINE_SUBMIT_DURABILITY=replica
const API_NONE = 8623; // one without

const redis: RedisProc[] = [];
let durable: Cluster;
let plain: Cluster;

beforeAll(async () => {
  redis.push(await startRedis(PRIMARY, ['--port', String(PRIMARY)]));
  redis.push(
    await startRedis(PRIMARY + 1, ['--port', String(PRIMARY + 1), '--replicaof', '127.0.0.1', String(PRIMARY)]),
  );
  const env = { REDIS_URL: `redis://127.0.0.1:${PRIMARY}` };
  durable = new Cluster({
    port: API_REPLICA,
    workers: [],
    env: { ...env, USINE_SUBMIT_DURABILITY: 'replica', USINE_SUBMIT_DURABILITY_TIMEOUT_MS: '300' },
  });
  plain = new Cluster({ port: API_NONE, workers: [], env });
  await Promise.all([durable.start(), plain.start()]);
  // Until the replica has finished its first sync, WAIT would count no replica.
  for (let i = 0; i < 100 && !/sync: Finished with success/.test(redis[1]!.output()); i++) await sleep(100);
}, 60_000);

afterAll(async () => {
  await Promise.all([durable?.stop(), plain?.stop()]);
  await stopAll(redis);
});

async function submit(c: Cluster): Promise<{ status: number; durability: string | null; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${c.url}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'noop', params: { sleepMs: 0 } }),
  });
  await res.arrayBuffer();
  return { status: res.status, durability: res.headers.get('usine-durability'), ms: performance.now() - t0 };
}

it('answers once a replica has the submit, says primary-only when none confirms in time', async () => {
  const ok = await submit(durable);
  expect([ok.status, ok.durability]).toEqual([201, 'replica']);
  expect((await submit(plain)).durability).toBeNull();

  await redis[1]!.stop('SIGKILL');
  const alone = await submit(durable);
  expect([alone.status, alone.durability]).toEqual([201, 'primary-only']);
  expect(alone.ms).toBeGreaterThanOrEqual(290); // it waited out the timeout…
  expect(alone.ms).toBeLessThan(800); // …and no longer
  await sleep(500); // the log goes out every 250 ms
  expect(durable.scheduler.output()).toMatch(/not confirmed on a replica in time/);
  const quick = await submit(plain);
  expect([quick.status, quick.durability]).toEqual([201, null]);
  expect(quick.ms).toBeLessThan(250);
});

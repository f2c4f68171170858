// BlockingConnection against a real Redis: a blocking pop returns what is pushed later, an
// interrupt ends a wait whether it comes while the command blocks or before the command reached
// Redis, a killed connection ends the wait instead of leaving it blocked under a lost id, and
// close() ends it too.
import { afterAll, expect, inject, it } from 'vitest';
import { BlockingConnection } from '../../shared/blocking-connection.ts';
import { connectRedis } from '../../shared/redis.ts';

const url = inject('redisUrl');
const shared = connectRedis(url);
const admin = connectRedis(url);
afterAll(() => {
  shared.disconnect();
  admin.disconnect();
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let n = 0;
const listKey = () => `blocking-test-${process.pid}-${++n}`;
/** Each test's connection has a name of its own: other test files' workers block on BLMPOP too. */
const connection = () => new BlockingConnection(shared, `blocking-test-${process.pid}-${++n}`);

/** A BLMPOP of up to 5 from `key`, blocking at most 10 s; null when it returned nothing. */
const pop = (b: BlockingConnection, key: string) =>
  b.block((conn) => conn.blmpop(10, 1, key, 'LEFT', 'COUNT', 5), null);

/** Waits until Redis lists the connection named `name` blocked on BLMPOP (at most 2 s); returns its id. */
async function blocked(b: BlockingConnection): Promise<string> {
  const name = (b as unknown as { name: string }).name;
  for (let i = 0; i < 200; i++) {
    const line = ((await admin.client('LIST')) as string).split('\n').find((l) => l.includes(` name=${name} `));
    if (line && / cmd=blmpop /.test(line)) return /^id=(\d+)/.exec(line)![1];
    await sleep(10);
  }
  throw new Error(`${name} was not blocked on BLMPOP within 2 s`);
}

/** Ends `waiting` with `end` and expects it to return nothing within a second (the pop blocks 10 s). */
async function endsWithin1s(waiting: Promise<unknown>, end: () => unknown): Promise<void> {
  const t0 = Date.now();
  await end();
  expect(await waiting).toBeNull();
  expect(Date.now() - t0).toBeLessThan(1000);
}

it('returns what is pushed while it blocks', async () => {
  const b = connection();
  const key = listKey();
  const waiting = pop(b, key);
  await blocked(b);
  await admin.rpush(key, 'a', 'b');
  expect(await waiting).toEqual([key, ['a', 'b']]);
  b.close();
});

it('ends a wait when interrupted, while it blocks or before its command reached Redis', async () => {
  const b = connection();
  const key = listKey();
  const first = pop(b, key);
  await blocked(b);
  await endsWithin1s(first, () => b.interrupt());
  // At once after the call: the command is still on its way (the interrupt looks again).
  await endsWithin1s(pop(b, key), () => b.interrupt());
  // The connection still serves the next wait.
  const third = pop(b, key);
  await blocked(b);
  await admin.rpush(key, 'c');
  expect(await third).toEqual([key, ['c']]);
  b.close();
});

it('ends a wait cut by a lost connection, and the next one can be interrupted under the new id', async () => {
  const b = connection();
  const key = listKey();
  const waiting = pop(b, key);
  const id = await blocked(b);
  // Not resent under a new id (it would block out its 10 s there): the wait ends, and the caller looks again.
  await endsWithin1s(waiting, () => admin.client('KILL', 'ID', id));
  const next = pop(b, key);
  expect(await blocked(b)).not.toBe(id);
  await endsWithin1s(next, () => b.interrupt());
  b.close();
});

it('ends a wait on close, and returns at once after', async () => {
  const b = connection();
  const key = listKey();
  const waiting = pop(b, key);
  await blocked(b);
  b.close();
  expect(await waiting).toBeNull();
  expect(await pop(b, key)).toBeNull();
});

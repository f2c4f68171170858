// subscribeWhenReady against a real Redis: a subscription made while its connection is still
// connecting hears what is published once it is ready (the worker's cancels, the round's wake-ups),
// and a connection that never becomes ready fails with a reason instead of hanging.
import { afterAll, expect, inject, it } from 'vitest';
import {
  MIN_REDIS_VERSION,
  connectRedis,
  redisVersionAtLeast,
  requireRedisVersion,
  subscribeWhenReady,
} from '../../shared/redis.ts';
import { freePort } from '../../scripts/support/free-port.ts';

const url = inject('redisUrl');
const pub = connectRedis(url);
afterAll(() => pub.disconnect());

it('subscribes once the connection is ready, and hears what is published after', async () => {
  const sub = connectRedis(url);
  expect(sub.status).not.toBe('ready');
  const channel = `subscribe-test-${process.pid}`;
  await subscribeWhenReady(sub, [channel]);
  expect(sub.status).toBe('ready');
  const heard = new Promise<string>((resolve) => sub.on('message', (_c: string, m: string) => resolve(m)));
  await pub.publish(channel, 'cancel job-1');
  expect(await heard).toBe('cancel job-1');
  sub.disconnect();
});

it('gives up with a reason when the connection is not ready in time', async () => {
  const sub = connectRedis(`redis://127.0.0.1:${await freePort()}`);
  sub.on('error', () => {});
  await expect(subscribeWhenReady(sub, ['never'], 300)).rejects.toThrow(/not ready after 300 ms/);
  sub.disconnect();
});

it('compares Redis versions by number, and accepts the Redis the tests run on', async () => {
  expect(redisVersionAtLeast('6.2.14', MIN_REDIS_VERSION)).toBe(false);
  expect(redisVersionAtLeast('7.0.0', MIN_REDIS_VERSION)).toBe(true);
  expect(redisVersionAtLeast('7.0.15', MIN_REDIS_VERSION)).toBe(true);
  expect(redisVersionAtLeast('7.2', MIN_REDIS_VERSION)).toBe(true);
  // By number: 10 is newer than 7, though "10" sorts before "7".
  expect(redisVersionAtLeast('10.0.0', MIN_REDIS_VERSION)).toBe(true);
  await expect(requireRedisVersion(pub)).resolves.toBeUndefined();
});

// subscribeWhenReady against a real Redis: a subscription made while its connection is still
// connecting hears what is published once it is ready (the worker's cancels, the round's wake-ups),
// and a connection that never becomes ready fails with a reason instead of hanging.
import { afterAll, expect, inject, it } from 'vitest';
import { connectRedis, subscribeWhenReady } from '../../shared/redis.ts';
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

// Small fixtures the queue and dispatch tests share.
import type { Redis } from 'ioredis';
import { requirements } from '../../shared/job-spec.ts';
import type { DeviceCaps } from '../../scheduler/policy/matching.ts';
import { queueName, type QueueInfo } from '../../scheduler/queue/tenant-queues.ts';

/** A device that serves jobs without requirements. */
export const testCaps: DeviceCaps = {
  vendor: 'test',
  architecture: '',
  device: '',
  backend: 'vulkan',
  features: [],
  limits: {},
  region: 'local',
};

/** A tenant's queue of jobs without requirements (class `any`), FIFO. */
export const anyQueue = (tenant: string): QueueInfo => ({
  name: queueName(tenant, 'any'),
  tenant,
  cls: 'any',
  requirements: requirements.parse({}),
});

/** Records the name of every command `redis` sends from now on (pipelined ones included). */
export function recordCommands(redis: Redis): string[] {
  const sent: string[] = [];
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((cmd: { name: string }, ...rest: unknown[]) => {
    sent.push(cmd.name);
    return (send as (...a: unknown[]) => unknown)(cmd, ...rest);
  }) as unknown as typeof redis.sendCommand;
  return sent;
}

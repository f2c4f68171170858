// Small fixtures the queue and dispatch tests share.
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

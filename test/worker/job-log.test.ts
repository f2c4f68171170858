// The job's own log against a real BullMQ job in real Redis: one line for a short job,
// a start line and an end line for a long one.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Queue } from 'bullmq';
import { connectRedis } from '../../shared/redis.ts';
import { JobLog } from '../../worker/job-log.ts';

describe('JobLog', () => {
  const connection = connectRedis(inject('redisUrl'));
  const queue = new Queue('job-log-test', { connection, prefix: `joblog-${process.pid}` });
  beforeAll(() => queue.waitUntilReady());
  afterAll(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
  });
  const logsOf = async (id: string) => (await queue.getJobLogs(id)).logs;
  const settle = () => new Promise((r) => setTimeout(r, 100));

  it('writes one line for a job that ends before the start line is due', async () => {
    const job = await queue.add('noop', {});
    new JobLog(connection, job, 'attempt 1 started on worker w1 (gpu)', 500).end('succeeded after 2 ms');
    await settle();
    const logs = await logsOf(job.id!);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+Z attempt 1 started on worker w1 \(gpu\); succeeded after 2 ms$/);
    // The lines live with the job: removing it (retention) removes them.
    await job.remove();
    expect(await logsOf(job.id!)).toEqual([]);
    expect(await connection.exists(`${job.queueQualifiedName}:${job.id}:logs`)).toBe(0);
  });

  it('writes the start line while a long job runs, then its end line', async () => {
    const job = await queue.add('long', {});
    const log = new JobLog(connection, job, 'attempt 2 started on worker w2 (gpu)', 50);
    await settle();
    expect(await logsOf(job.id!)).toEqual([expect.stringMatching(/ attempt 2 started on worker w2 \(gpu\)$/)]);
    log.end('failed after 150 ms: boom');
    await settle();
    const logs = await logsOf(job.id!);
    expect(logs).toHaveLength(2);
    expect(logs[1]).toMatch(/Z failed after 150 ms: boom$/);
  });
});

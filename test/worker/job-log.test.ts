// The job's own log against a real BullMQ job in real Redis: nothing for a short success
// (the scheduler derives that line), one line for a short failure, a start line and an end
// line for a long attempt.
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

  it('writes nothing for a short success, one line for a short failure', async () => {
    const ok = await queue.add('noop', {});
    new JobLog(connection, ok, 'attempt 1 started on worker w1 (gpu)', 500).succeeded();
    const job = await queue.add('noop', {});
    new JobLog(connection, job, 'attempt 1 started on worker w1 (gpu)', 500).ended('failed after 2 ms: boom');
    await settle();
    expect(await logsOf(ok.id!)).toEqual([]);
    const logs = await logsOf(job.id!);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+Z attempt 1 started on worker w1 \(gpu\); failed after 2 ms: boom$/);
    // The lines live with the job: removing it (retention) removes them.
    await job.remove();
    expect(await logsOf(job.id!)).toEqual([]);
    expect(await connection.exists(`${job.queueQualifiedName}:${job.id}:logs`)).toBe(0);
  });

  it('writes the start line while a long attempt runs, then how it ended', async () => {
    const job = await queue.add('long', {});
    const log = new JobLog(connection, job, 'attempt 2 started on worker w2 (gpu)', 50);
    await settle();
    expect(await logsOf(job.id!)).toEqual([expect.stringMatching(/ attempt 2 started on worker w2 \(gpu\)$/)]);
    log.ended('failed after 150 ms: boom');
    await settle();
    const logs = await logsOf(job.id!);
    expect(logs).toHaveLength(2);
    expect(logs[1]).toMatch(/Z failed after 150 ms: boom$/);
  });
});

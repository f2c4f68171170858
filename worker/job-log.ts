// A job's own log (`usine logs <id>`), kept in BullMQ's per-job log list
// (`<prefix>:<queue>:<id>:logs`, read by `getJobLogs`, deleted with the job). At thousands
// of short jobs a second a Redis write per job costs as much as running the jobs, so the
// worker writes only what nothing else records:
// - where an attempt runs, once it has run `startLineAfterMs` (a running job's log shows it);
// - how an attempt ended when it did not succeed (a retry's history is nowhere else).
// A success is already in the job itself (worker, start and finish times): the scheduler
// adds that line when the log is read (JobStore.logs). Lines are plain RPUSHes, a third of
// the cost of BullMQ's log script; the job exists while it runs, which is all that checks.
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';

export class JobLog {
  private startWritten = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    private readonly job: Pick<Job, 'id' | 'queueQualifiedName'>,
    private readonly startLine: string,
    startLineAfterMs = 1000,
  ) {
    this.timer = setTimeout(() => this.writeStart(), startLineAfterMs);
  }

  private write(line: string): void {
    appendJobLog(this.redis, this.job, line);
  }

  private writeStart(): void {
    this.startWritten = true;
    this.write(this.startLine);
  }

  /** The attempt succeeded: nothing to write (see above). */
  succeeded(): void {
    clearTimeout(this.timer);
  }

  /** Something worth keeping happened in the attempt ("resumed from step 1800"); after the start line. */
  note(line: string): void {
    if (!this.startWritten) {
      clearTimeout(this.timer);
      this.writeStart();
    }
    this.write(line);
  }

  /** The attempt was preempted: the puller writes that line, once the job is back in its queue. */
  preempted(): void {
    clearTimeout(this.timer);
  }

  /** The attempt ended otherwise ("failed after 3 ms: …"). */
  ended(line: string): void {
    clearTimeout(this.timer);
    this.write(this.startWritten ? line : `${this.startLine}; ${line}`);
  }
}

/** One line in a job's log, outside an attempt's JobLog (the preemption line, written after the attempt). */
export function appendJobLog(redis: Redis, job: Pick<Job, 'id' | 'queueQualifiedName'>, line: string): void {
  // Not awaited: a log line must never fail or hold up the job.
  void redis.rpush(`${job.queueQualifiedName}:${job.id}:logs`, `${new Date().toISOString()} ${line}`).catch(() => {});
}

// A job's own log (`usine logs <id>`), kept in BullMQ's per-job log list. At thousands of
// short jobs a second its writes cost as much as running the jobs, so: a job that ends within
// `startLineAfterMs` gets a single line saying where it ran and how it ended; a longer one
// gets its start line once it has run that long (so a running job's log shows where it runs),
// then its end line. Lines are plain RPUSHes to the list BullMQ's `Job.log` appends to
// (`<prefix>:<queue>:<id>:logs`, read by `getJobLogs`, deleted with the job) — a third of the
// cost of BullMQ's log script; the job exists while it runs, which is all that script checks.
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';

export class JobLog {
  private startWritten = false;
  private readonly timer: NodeJS.Timeout;

  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    job: Pick<Job, 'id' | 'queueQualifiedName'>,
    private readonly startLine: string,
    startLineAfterMs = 1000,
  ) {
    this.key = `${job.queueQualifiedName}:${job.id}:logs`;
    this.timer = setTimeout(() => this.writeStart(), startLineAfterMs);
  }

  private write(line: string): void {
    // Not awaited: it rides along with the job's other commands (auto-pipelining), ahead of
    // the command that completes the job.
    void this.redis.rpush(this.key, `${new Date().toISOString()} ${line}`).catch(() => {});
  }

  private writeStart(): void {
    this.startWritten = true;
    this.write(this.startLine);
  }

  /** The job's last line ("succeeded after 3 ms"). */
  end(line: string): void {
    clearTimeout(this.timer);
    this.write(this.startWritten ? line : `${this.startLine}; ${line}`);
  }
}

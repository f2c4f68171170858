// A job's own log (`usine logs <id>`), kept in BullMQ's per-job log list. Each line is a
// Redis script call, which at thousands of short jobs a second costs as much as running
// them: a job that ends within `startLineAfterMs` gets a single line saying where it ran
// and how it ended; a longer one gets its start line once it has run that long (so a
// running job's log shows where it runs), then its end line.
import type { Job } from 'bullmq';

export class JobLog {
  private startWritten = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly job: Pick<Job, 'log'>,
    private readonly startLine: string,
    startLineAfterMs = 1000,
  ) {
    this.timer = setTimeout(() => this.writeStart(), startLineAfterMs);
  }

  private write(line: string): void {
    // Not awaited: it rides along with the job's other commands (auto-pipelining).
    void this.job.log(`${new Date().toISOString()} ${line}`).catch(() => {});
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

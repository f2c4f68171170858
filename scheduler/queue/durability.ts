// Submit durability: whether an acknowledged submit must also sit on a replica. Redis replicates
// asynchronously, so a primary that dies just after a write can take it with it, failover or not;
// WAIT makes the answer wait until a replica has the write (docs/operations.md has the figures).
import type { Redis } from 'ioredis';

export type DurabilityMode = 'none' | 'replica';

/** The header a submit answers with when its write was not confirmed on a replica in time. */
export const DURABILITY_HEADER = 'usine-durability';

export class SubmitDurability {
  constructor(
    /** The connection the submit wrote on: WAIT covers the writes of its own connection only. */
    private readonly redis: Redis,
    readonly mode: DurabilityMode,
    readonly timeoutMs: number,
  ) {}

  /**
   * After a submit's write: true when it is on at least one replica (or nothing was asked), false
   * when no replica confirmed it within the timeout. The job is queued either way: undoing it
   * could race a worker that already took it, and a refusal would invite a retry that runs it twice.
   */
  async confirm(): Promise<boolean> {
    if (this.mode === 'none') return true;
    const acked = (await this.redis.call('WAIT', 1, this.timeoutMs)) as number;
    return acked >= 1;
  }
}

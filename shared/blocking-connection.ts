// A Redis connection of its own for a blocking command (BLMPOP), which another part of the
// process can cut short. A blocked connection answers nothing else, so it cannot be the
// process' shared one; and the process must be able to stop waiting when something other than
// the list changes (a slot reserved by a preemption, the scheduler's round gone quiet, a stop).
//
// `interrupt()` sends CLIENT UNBLOCK for this connection's id on the shared connection: the
// blocked command returns as if it had timed out. The id changes with every reconnect, so the
// connection never resends a command it lost: a lost connection fails the command under way
// (maxRetriesPerRequest 0; with ioredis' default of resending, the command would block again
// under an id nobody knows, and without a retry limit it would never settle at all).
import type { Redis } from 'ioredis';

/** How many times an interrupt looks for the blocked command (every INTERRUPT_RETRY_MS) before it reconnects. */
const INTERRUPT_TRIES = 20;
const INTERRUPT_RETRY_MS = 5;

export class BlockingConnection {
  private conn: Redis | null = null;
  /** CLIENT ID of `conn` as connected now (null: not known since its latest connect). */
  private id: number | null = null;
  /** Each wait's number: an interrupt ends the wait it was sent for, never a later one. */
  private generation = 0;
  private waiting = false;
  private interrupted = false;
  private closed = false;

  /**
   * `shared`: the process' connection, which sends the interrupts; the blocking one is its
   * duplicate, named `name` in Redis' client list.
   */
  constructor(
    private readonly shared: Redis,
    private readonly name: string,
  ) {}

  /**
   * Runs `command` on the blocking connection; `empty` if it was interrupted (before or while it
   * blocked), the connection was lost meanwhile, or the connection is closed.
   */
  async block<T>(command: (conn: Redis) => Promise<T>, empty: T): Promise<T> {
    if (this.closed) return empty;
    const conn = this.connection();
    const generation = ++this.generation;
    this.waiting = true;
    this.interrupted = false;
    try {
      if (this.id === null) this.id = Number(await conn.client('ID'));
      if (this.interrupted || this.closed || generation !== this.generation) return empty;
      return await command(conn);
    } catch (err) {
      // Cut by a lost connection or by close(): the caller looks again.
      if (this.closed || conn.status !== 'ready') return empty;
      throw err;
    } finally {
      if (generation === this.generation) this.waiting = false;
    }
  }

  /** Ends the wait under way, if any (the command returns `empty`). */
  interrupt(): void {
    if (!this.waiting || this.interrupted) return;
    this.interrupted = true;
    const generation = this.generation;
    const still = () => this.waiting && generation === this.generation && !this.closed;
    void (async () => {
      for (let i = 0; i < INTERRUPT_TRIES && still(); i++) {
        // 0: the command has not reached Redis yet (or just returned): look again shortly.
        if (this.id !== null && Number(await this.shared.client('UNBLOCK', this.id)) === 1) return;
        await new Promise((r) => setTimeout(r, INTERRUPT_RETRY_MS));
      }
      // Not found blocked for that long: a reconnect fails the command, and the waiter goes on.
      if (still()) this.conn?.disconnect(true);
    })().catch(() => {
      // The shared connection is down too: the blocking one's command fails with it.
    });
  }

  /** Ends any wait and closes the connection. */
  close(): void {
    this.closed = true;
    this.conn?.disconnect();
    this.conn = null;
  }

  private connection(): Redis {
    if (!this.conn) {
      const conn = this.shared.duplicate({
        connectionName: this.name,
        autoResendUnfulfilledCommands: false,
        maxRetriesPerRequest: 0,
        // A blocking command takes as long as it blocks.
        commandTimeout: undefined,
      });
      // A new connection is a new client id; its errors are the shared connection's too, which reports them.
      conn.on('close', () => {
        this.id = null;
      });
      conn.on('error', () => {});
      this.conn = conn;
    }
    return this.conn;
  }
}

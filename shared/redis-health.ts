// Whether a Redis connection works now, known without waiting on it: the daemons answer 503 and
// /readyz from this at once instead of hanging on a command while Redis is down or frozen.
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';

export interface RedisHealthOptions {
  /** How often to PING (ms). */
  intervalMs?: number;
  /**
   * A PING unanswered this long counts as down (ms): a frozen Redis keeps its TCP connection open.
   * Longer than a command's timeout: on a loaded machine a PING queued behind a large pipeline
   * can take half a second, and a false "down" would turn the whole API to 503. Meanwhile each
   * request against a frozen Redis still fails within the command timeout.
   */
  timeoutMs?: number;
}

/**
 * Up while the connection is ready and its last PING was answered in time. Emits 'change'
 * (up: boolean) on every flip. One PING at a time: a frozen Redis never gets a pile of them.
 */
export class RedisHealth extends EventEmitter<{ change: [up: boolean] }> {
  private current: boolean;
  private pinging = false;
  private readonly timer: NodeJS.Timeout;
  private readonly timeoutMs: number;
  private readonly onDown = () => this.set(false);
  private readonly onReady = () => this.check();

  constructor(
    private readonly redis: Redis,
    o: RedisHealthOptions = {},
  ) {
    super();
    this.current = redis.status === 'ready';
    this.timeoutMs = o.timeoutMs ?? 1500;
    redis.on('close', this.onDown);
    redis.on('end', this.onDown);
    redis.on('ready', this.onReady);
    this.timer = setInterval(() => this.check(), o.intervalMs ?? 1000);
    this.timer.unref();
  }

  get up(): boolean {
    return this.current;
  }

  /** Resolves once up (at once when up now); rejects with `signal`'s reason when it aborts first. */
  whenUp(signal?: AbortSignal): Promise<void> {
    if (this.current) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onChange = (up: boolean) => {
        if (!up) return;
        signal?.removeEventListener('abort', onAbort);
        this.off('change', onChange);
        resolve();
      };
      const onAbort = () => {
        this.off('change', onChange);
        reject(signal!.reason);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.on('change', onChange);
    });
  }

  stop(): void {
    clearInterval(this.timer);
    this.redis.off('close', this.onDown);
    this.redis.off('end', this.onDown);
    this.redis.off('ready', this.onReady);
  }

  private check(): void {
    if (this.redis.status !== 'ready') return this.set(false);
    if (this.pinging) return; // the last PING is still out, and the timer below said so
    this.pinging = true;
    const timer = setTimeout(() => this.set(false), this.timeoutMs);
    this.redis.ping().then(
      () => {
        clearTimeout(timer);
        this.pinging = false;
        // A late answer means Redis is back (a SIGCONT): up, without waiting for the next tick.
        this.set(this.redis.status === 'ready');
      },
      () => {
        clearTimeout(timer);
        this.pinging = false;
        this.set(false);
      },
    );
  }

  private set(up: boolean): void {
    if (up === this.current) return;
    this.current = up;
    this.emit('change', up);
  }
}

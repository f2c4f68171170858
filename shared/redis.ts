// One place that makes Redis connections, with the options BullMQ requires.
import { Redis, type RedisOptions } from 'ioredis';

export function connectRedis(url: string, opts: RedisOptions = {}): Redis {
  // BullMQ's blocking commands need maxRetriesPerRequest: null.
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, ...opts });
}

/** True when something answers PING at `url` within `timeoutMs`. */
export async function redisAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  const r = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
  });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/**
 * Whether `err` says Redis did not answer (down, frozen, reconnecting) rather than that a
 * command was wrong: what the scheduler answers with 503 redis_unavailable.
 */
export function isRedisUnavailable(err: unknown): boolean {
  const e = err as { name?: string; message?: string; code?: string } | null;
  if (!e) return false;
  if (e.name === 'MaxRetriesPerRequestError') return true;
  if (e.code && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTCONN'].includes(e.code)) return true;
  return /^(Command timed out|Connection is closed|Stream isn't writeable)/.test(e.message ?? '');
}

/**
 * Waits for `p` at most `ms`. For stopping while Redis is away: ioredis never settles a command
 * queued on a connection that is between reconnects, so a stop must not wait on one for ever.
 */
export async function within(ms: number, p: Promise<unknown> | undefined): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p?.catch(() => {}), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

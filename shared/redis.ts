// One place that makes Redis connections, with the options BullMQ requires: a plain URL, or a
// Sentinel-watched primary that every connection follows across a failover; auth and TLS either way.
import fs from 'node:fs';
import { Redis, type RedisOptions } from 'ioredis';

/** Where Redis is, as configured (shared/config.ts): what connectRedis needs, secrets included. */
export interface RedisTarget {
  /** redis://[user:pw@]host:port[/db] or rediss://…; with sentinels only its user, password, db and scheme count. */
  url: string;
  /** Sentinels to ask for the primary (host:port each); none = connect to `url` itself. */
  sentinels?: { host: string; port: number }[];
  /** The name the sentinels monitor the primary under. */
  sentinelMaster?: string;
  sentinelPassword?: string;
  /** PEM file of the CA that signed Redis's certificate (rediss:// only). */
  tlsCaFile?: string;
}

/** The Redis settings of a scheduler's or worker's configuration, as a target. */
export function redisTarget(cfg: {
  REDIS_URL: string;
  REDIS_SENTINELS?: string;
  REDIS_SENTINEL_MASTER?: string;
  REDIS_SENTINEL_PASSWORD?: string;
  REDIS_TLS_CA_FILE?: string;
}): RedisTarget {
  return {
    url: cfg.REDIS_URL,
    sentinels: cfg.REDIS_SENTINELS ? parseHostPorts(cfg.REDIS_SENTINELS) : undefined,
    sentinelMaster: cfg.REDIS_SENTINEL_MASTER,
    sentinelPassword: cfg.REDIS_SENTINEL_PASSWORD,
    tlsCaFile: cfg.REDIS_TLS_CA_FILE,
  };
}

/** `host:port,host:port` as a list; throws naming the bad entry. */
export function parseHostPorts(list: string): { host: string; port: number }[] {
  return list.split(',').map((entry) => {
    const m = /^\s*(\[[^\]]+\]|[^:\s]+):(\d{1,5})\s*$/.exec(entry);
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) throw new Error(`"${entry.trim()}" is not host:port`);
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
  });
}

/** `url` with its password (and user) replaced by ***: for logs and error messages. */
export function redactUrl(url: string): string {
  return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^@/]*@/, (_, scheme: string) => `${scheme}***@`);
}

/** Where a target points, without secrets: for the ready lines. */
export function describeRedis(target: string | RedisTarget): string {
  if (typeof target === 'string') return redactUrl(target);
  if (!target.sentinels?.length) return redactUrl(target.url);
  const via = target.sentinels.map((s) => `${s.host}:${s.port}`).join(',');
  return `sentinel master "${target.sentinelMaster}" via ${via}`;
}

/**
 * Options that make a connection follow a Sentinel failover. ioredis asks the sentinels for the
 * primary on every (re)connect, so a killed primary is left for the new one once the sentinels
 * promote it; failoverDetector also moves at once when the sentinels announce +switch-master (a
 * failover that leaves the old primary alive, demoted). A demoted primary answers writes with
 * READONLY and blocked commands with UNBLOCKED (taskforcesh/bullmq#648): both mean "reconnect
 * and resend", which reconnectOnError's 2 does. Neither retry strategy ever gives up (returns a
 * delay, never null): a connection that gives up ends for good, and BullMQ's workers then sit
 * idle with no error (taskforcesh/bullmq#3088, #2964, #4378).
 */
function sentinelOptions(t: RedisTarget): RedisOptions {
  const u = new URL(t.url);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  return {
    sentinels: t.sentinels,
    name: t.sentinelMaster,
    sentinelPassword: t.sentinelPassword,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db,
    failoverDetector: true,
    sentinelRetryStrategy: (times) => Math.min(times * 100, 1000),
    enableTLSForSentinelMode: u.protocol === 'rediss:',
  };
}

const reconnectOnError = (err: Error): 2 | false => (/^(READONLY|UNBLOCKED)/.test(err.message) ? 2 : false);

/** The TLS options of a target: rediss:// with the configured CA (or the system's). */
function tlsOptions(t: RedisTarget): RedisOptions {
  if (!t.url.startsWith('rediss://')) return {};
  return { tls: t.tlsCaFile ? { ca: fs.readFileSync(t.tlsCaFile) } : {} };
}

export function connectRedis(target: string | RedisTarget, opts: RedisOptions = {}): Redis {
  const t = typeof target === 'string' ? { url: target } : target;
  // BullMQ's blocking commands need maxRetriesPerRequest: null.
  const base: RedisOptions = {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(times * 50, 2000),
    reconnectOnError,
    ...tlsOptions(t),
  };
  if (t.sentinels?.length) return new Redis({ ...base, ...sentinelOptions(t), ...opts });
  return new Redis(t.url, { ...base, ...opts });
}

/**
 * Subscribes once the connection is ready. Subscribed before, its set-up commands (the ready
 * check) may meet subscriber mode, and the subscription was seen lost: a dispatch round heard
 * no wake-ups, a worker no cancels. `timeoutMs`: give up waiting (undefined: wait on).
 */
export async function subscribeWhenReady(sub: Redis, channels: string[], timeoutMs?: number): Promise<void> {
  if (sub.status !== 'ready') {
    await new Promise<void>((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? null
          : setTimeout(() => {
              sub.off('ready', ready);
              reject(new Error(`the subscriber connection is not ready after ${timeoutMs} ms`));
            }, timeoutMs);
      function ready() {
        if (timer) clearTimeout(timer);
        resolve();
      }
      sub.once('ready', ready);
    });
  }
  await sub.subscribe(...channels);
}

/** True when something answers PING at `target` within `timeoutMs`. */
export async function redisAnswers(target: string | RedisTarget, timeoutMs = 1000): Promise<boolean> {
  const r = connectRedis(target, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    sentinelRetryStrategy: () => null,
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

/**
 * The oldest Redis usine runs on: workers wait for the dispatch round's grants with BLMPOP (7.0).
 * BullMQ itself asks for 5.0, so an older Redis would otherwise fail only at the first wait.
 */
export const MIN_REDIS_VERSION = '7.0.0';

/** Whether a Redis version string (INFO's `redis_version`) is at least `min`. */
export function redisVersionAtLeast(version: string, min: string): boolean {
  const a = version.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const b = min.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

/** Throws, naming the version found and the one needed, when the Redis behind `redis` is older than MIN_REDIS_VERSION. */
export async function requireRedisVersion(redis: Redis): Promise<void> {
  const found = /^redis_version:(\S+)/m.exec(await redis.info('server'))?.[1];
  if (found && !redisVersionAtLeast(found, MIN_REDIS_VERSION))
    throw new Error(
      `this Redis is version ${found}; usine needs Redis ${MIN_REDIS_VERSION} or newer (workers wait for grants with BLMPOP): upgrade Redis`,
    );
}

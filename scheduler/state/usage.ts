// Per-tenant device usage in Redis: the decayed figure the fair-share policy reads, and
// hourly totals for `usine usage`. Decay happens in Redis (a Lua script) so concurrent
// workers never lose an update.
//
// Energy is recorded apart from the rest: workers send their estimated joules (run time × their
// power figure) in their job events, and the scheduler replica that reads an event entry (each
// entry goes to exactly one, scheduler.ts) adds them to the hour it reads them in, the same
// figures as usine_tenant_energy_joules_total. The worker's own charge (seconds, jobs, FLOPs)
// knows no power figure.
import type { Redis } from 'ioredis';
import { decay } from '../policy/fair-share.ts';
import type { Keys } from './keys.ts';
import type { UsageTotals } from '../../shared/api-responses.ts';

// KEYS[1] usage hash; ARGV: tenant, seconds, now (s), halfLife (s), jobs (the mean is per job)
const ADD_USAGE = `
local u = tonumber(redis.call('HGET', KEYS[1], 'u:' .. ARGV[1]) or '0')
local t = tonumber(redis.call('HGET', KEYS[1], 't:' .. ARGV[1]) or ARGV[3])
local now = tonumber(ARGV[3])
local dt = now - t
if dt > 0 then u = u * math.pow(2, -dt / tonumber(ARGV[4])) end
u = u + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'u:' .. ARGV[1], tostring(u), 't:' .. ARGV[1], tostring(math.max(now, t)))
local mean = tonumber(redis.call('HGET', KEYS[1], 'mean') or (tonumber(ARGV[2]) / tonumber(ARGV[5])))
local jobs = tonumber(ARGV[5])
local per = tonumber(ARGV[2]) / jobs
local keep = math.pow(0.9, jobs)
redis.call('HSET', KEYS[1], 'mean', tostring(mean * keep + per * (1 - keep)))
return tostring(u)
`;

// KEYS[1] usage hash; ARGV: tenant, usage, now (s), halfLife (s). Raise only: concurrent raises agree.
const RAISE_USAGE = `
local u = tonumber(redis.call('HGET', KEYS[1], 'u:' .. ARGV[1]) or '0')
local t = tonumber(redis.call('HGET', KEYS[1], 't:' .. ARGV[1]) or ARGV[3])
local now = tonumber(ARGV[3])
if now - t > 0 then u = u * math.pow(2, -(now - t) / tonumber(ARGV[4])) end
if tonumber(ARGV[2]) > u then u = tonumber(ARGV[2]) end
redis.call('HSET', KEYS[1], 'u:' .. ARGV[1], tostring(u), 't:' .. ARGV[1], tostring(math.max(now, t)))
return tostring(u)
`;

const HOUR_TTL_SECONDS = 400 * 24 * 3600;

export interface UsageSnapshot {
  /** Decayed device-seconds per tenant, as of `now`. */
  usage: Map<string, number>;
  /** Moving average of one job's device-seconds (all tenants). */
  meanJobSeconds: number;
}

// The totals GET /v1/usage answers with: their schema is in shared/api-responses.ts.
export type { UsageTotals } from '../../shared/api-responses.ts';

export class UsageLedger {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    readonly halfLifeSeconds: number,
  ) {}

  /** Charges finished attempts: `seconds` of device time, `jobs` attempts and `flops` to `tenant`. */
  async charge(tenant: string, seconds: number, flops: number, jobs = 1, now = Date.now()): Promise<void> {
    const hourKey = this.keys.usageHour(Math.floor(now / 3_600_000));
    await this.redis
      .multi()
      .eval(
        ADD_USAGE,
        1,
        this.keys.usage,
        tenant,
        String(seconds),
        String(now / 1000),
        String(this.halfLifeSeconds),
        String(jobs),
      )
      .hincrbyfloat(hourKey, `${tenant}|seconds`, seconds)
      .hincrby(hourKey, `${tenant}|jobs`, jobs)
      .hincrbyfloat(hourKey, `${tenant}|flops`, flops)
      .expire(hourKey, HOUR_TTL_SECONDS)
      .exec();
  }

  /** Adds estimated joules per tenant to the hour of `now` (from a flush of workers' job events). */
  async chargeEnergy(summaries: readonly { tenant: string; joules: number }[], now = Date.now()): Promise<void> {
    const hourKey = this.keys.usageHour(Math.floor(now / 3_600_000));
    const multi = this.redis.multi();
    let n = 0;
    for (const s of summaries) {
      if (!(s.joules > 0)) continue;
      multi.hincrbyfloat(hourKey, `${s.tenant}|joules`, s.joules);
      n++;
    }
    if (n === 0) return;
    await multi.expire(hourKey, HOUR_TTL_SECONDS).exec();
  }

  /** Raises a tenant's decayed usage to at least `usage` (the policy's bound on catch-up). */
  async raise(tenant: string, usage: number, now = Date.now()): Promise<void> {
    await this.redis.eval(
      RAISE_USAGE,
      1,
      this.keys.usage,
      tenant,
      String(usage),
      String(now / 1000),
      String(this.halfLifeSeconds),
    );
  }

  /** Turns the raw hash (HGETALL of the usage key) into decayed figures as of `now`. */
  static parse(raw: Record<string, string>, halfLifeSeconds: number, now = Date.now()): UsageSnapshot {
    const usage = new Map<string, number>();
    for (const [field, value] of Object.entries(raw)) {
      if (!field.startsWith('u:')) continue;
      const tenant = field.slice(2);
      const at = Number(raw[`t:${tenant}`] ?? now / 1000);
      usage.set(tenant, decay(Number(value), now / 1000 - at, halfLifeSeconds));
    }
    return { usage, meanJobSeconds: Number(raw.mean ?? 0) };
  }

  async snapshot(now = Date.now()): Promise<UsageSnapshot> {
    return UsageLedger.parse(await this.redis.hgetall(this.keys.usage), this.halfLifeSeconds, now);
  }

  /** Totals per tenant over whole hours overlapping [from, to]. */
  async totals(from: number, to: number): Promise<UsageTotals[]> {
    const first = Math.floor(from / 3_600_000);
    const last = Math.floor(to / 3_600_000);
    if (last - first > 24 * 400) throw new Error('usage period longer than 400 days');
    const pipe = this.redis.pipeline();
    for (let h = first; h <= last; h++) pipe.hgetall(this.keys.usageHour(h));
    const out = new Map<string, UsageTotals>();
    for (const [, hash] of (await pipe.exec()) ?? []) {
      for (const [field, v] of Object.entries((hash ?? {}) as Record<string, string>)) {
        const [tenant, kind] = field.split('|');
        const t = out.get(tenant) ?? { tenant, deviceSeconds: 0, jobs: 0, flops: 0, joules: 0 };
        if (kind === 'seconds') t.deviceSeconds += Number(v);
        else if (kind === 'jobs') t.jobs += Number(v);
        else if (kind === 'flops') t.flops += Number(v);
        else if (kind === 'joules') t.joules += Number(v);
        out.set(tenant, t);
      }
    }
    return [...out.values()].sort((a, b) => a.tenant.localeCompare(b.tenant));
  }
}

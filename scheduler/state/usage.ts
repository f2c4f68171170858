// Per-tenant device usage in Redis: the decayed figure the fair-share policy reads, and
// hourly totals for `usine usage`. Decay happens in Redis (a Lua script) so concurrent
// workers never lose an update.
//
// Energy is recorded apart from the rest: workers send their estimated joules (run time × their
// power figure) in their job events, and the scheduler replica that reads an event entry (each
// entry goes to exactly one, scheduler.ts) adds them to the hour it reads them in, the same
// figures as usine_tenant_energy_joules_total. The worker's own charge (seconds, jobs, FLOPs)
// knows no power figure.
import type { ChainableCommander, Redis } from 'ioredis';
import { accrued, decay } from '../policy/fair-share.ts';
import type { Keys } from './keys.ts';
import type { UsageTotals } from '../../shared/api-responses.ts';

// Both scripts take many tenants per call: a worker's flush or a dispatch round covers
// hundreds of tenants at #14's scale, and one script per tenant (with its text sent each time)
// cost a tenth of the worker process' CPU.
//
// KEYS[1] usage hash, KEYS[2] the hour's totals; ARGV: now (s), halfLife (s), the hour's TTL (s),
// then per tenant: name, seconds, decayed, jobs, flops. The decayed usage (`u:`) adds `decayed`,
// what the attempts accrued as they ran (policy's accrued()), so that a tenant's usage, counted
// with its running jobs' accrual while they run (state/running-usage.ts), does not jump when
// they end. The hour's totals and the mean per job (a moving mean, 0.9 per job) take the raw
// seconds.
const ADD_USAGE = `
local now = tonumber(ARGV[1])
local half = tonumber(ARGV[2])
local mean = tonumber(redis.call('HGET', KEYS[1], 'mean') or '-1')
for i = 4, #ARGV, 5 do
  local tenant, seconds, decayed, jobs = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  local ut = redis.call('HMGET', KEYS[1], 'u:' .. tenant, 't:' .. tenant)
  local u = tonumber(ut[1] or '0')
  local t = tonumber(ut[2] or ARGV[1])
  if now - t > 0 then u = u * math.pow(2, -(now - t) / half) end
  redis.call('HSET', KEYS[1], 'u:' .. tenant, tostring(u + decayed), 't:' .. tenant, tostring(math.max(now, t)))
  local per = seconds / jobs
  if mean < 0 then mean = per end
  local keep = math.pow(0.9, jobs)
  mean = mean * keep + per * (1 - keep)
  redis.call('HINCRBYFLOAT', KEYS[2], tenant .. '|seconds', ARGV[i + 1])
  redis.call('HINCRBY', KEYS[2], tenant .. '|jobs', ARGV[i + 3])
  redis.call('HINCRBYFLOAT', KEYS[2], tenant .. '|flops', ARGV[i + 4])
end
if mean >= 0 then redis.call('HSET', KEYS[1], 'mean', tostring(mean)) end
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 0
`;

// KEYS[1] usage hash; ARGV: now (s), halfLife (s), then per tenant: name, usage. Raise only:
// concurrent raises agree.
const RAISE_USAGE = `
local now = tonumber(ARGV[1])
for i = 3, #ARGV, 2 do
  local tenant = ARGV[i]
  local ut = redis.call('HMGET', KEYS[1], 'u:' .. tenant, 't:' .. tenant)
  local u = tonumber(ut[1] or '0')
  local t = tonumber(ut[2] or ARGV[1])
  if now - t > 0 then u = u * math.pow(2, -(now - t) / tonumber(ARGV[2])) end
  if tonumber(ARGV[i + 1]) > u then u = tonumber(ARGV[i + 1]) end
  redis.call('HSET', KEYS[1], 'u:' .. tenant, tostring(u), 't:' .. tenant, tostring(math.max(now, t)))
end
return 0
`;

type UsageScript = (...args: (string | number)[]) => Promise<unknown>;

const HOUR_TTL_SECONDS = 400 * 24 * 3600;

/** One tenant's finished attempts, as a worker's flush charges them. */
export interface TenantCharge {
  tenant: string;
  /** Their device-seconds (the hour's totals, the mean job time). */
  seconds: number;
  /** What they add to the decayed usage: Σ accrued(ranⱼ, halfLife), each as of its end. */
  decayed: number;
  flops: number;
  jobs: number;
}

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
  ) {
    // defineCommand sends a script by its SHA (EVALSHA) once loaded; once per connection.
    if (!(redis as Redis & { usineAddUsage?: UsageScript }).usineAddUsage) {
      redis.defineCommand('usineAddUsage', { numberOfKeys: 2, lua: ADD_USAGE });
      redis.defineCommand('usineRaiseUsage', { numberOfKeys: 1, lua: RAISE_USAGE });
    }
  }

  /**
   * Charges `jobs` attempts that ended at `now`, of `seconds` of device time in all (each as long),
   * and `flops`, to `tenant`.
   */
  charge(tenant: string, seconds: number, flops: number, jobs = 1, now = Date.now()): Promise<void> {
    const decayed = jobs * accrued(seconds / jobs, this.halfLifeSeconds);
    return this.chargeMany([{ tenant, seconds, decayed, flops, jobs }], now);
  }

  /** Charges many tenants in one script call (a worker's flush). */
  async chargeMany(charges: readonly TenantCharge[], now = Date.now()): Promise<void> {
    if (!charges.length) return;
    const hourKey = this.keys.usageHour(Math.floor(now / 3_600_000));
    const args: (string | number)[] = [now / 1000, this.halfLifeSeconds, HOUR_TTL_SECONDS];
    for (const c of charges) args.push(c.tenant, c.seconds, c.decayed, c.jobs, c.flops);
    await this.script('usineAddUsage')(this.keys.usage, hourKey, ...args);
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

  /** Raises tenants' decayed usage to at least the figures given (the policy's bound on catch-up). */
  async raise(raised: ReadonlyMap<string, number>, now = Date.now()): Promise<void> {
    if (raised.size) await this.script('usineRaiseUsage')(...this.raiseArgs(raised, now));
  }

  /** The same raise, queued on a transaction or pipeline of this connection (the dispatch round's write). */
  raiseIn(m: ChainableCommander, raised: ReadonlyMap<string, number>, now = Date.now()): void {
    // On a transaction the call queues the script and returns the transaction, not a promise.
    if (raised.size)
      (m as unknown as Record<string, (...a: (string | number)[]) => unknown>).usineRaiseUsage(
        ...this.raiseArgs(raised, now),
      );
  }

  private raiseArgs(raised: ReadonlyMap<string, number>, now: number): (string | number)[] {
    const args: (string | number)[] = [this.keys.usage, now / 1000, this.halfLifeSeconds];
    for (const [tenant, usage] of raised) args.push(tenant, usage);
    return args;
  }

  private script(name: 'usineAddUsage' | 'usineRaiseUsage'): UsageScript {
    return (this.redis as unknown as Record<string, UsageScript>)[name].bind(this.redis);
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

// A lease in Redis: at most one scheduler replica at a time runs a shared duty (the
// preemption round). The holder renews it well within its expiry; when the holder dies, the
// lease expires and another replica takes it. Each acquisition gets a new epoch (a counter
// that only grows), so what a holder writes can be told apart from an older holder's.
import type { Redis } from 'ioredis';

// KEYS: lease, epoch counter. ARGV: holder id, ttl ms. Returns "holder|epoch" when held by
// ARGV[1] after the call (renewed or newly taken), nil when another holder has it.
const ACQUIRE = `
local v = redis.call('GET', KEYS[1])
if v then
  if string.sub(v, 1, #ARGV[1] + 1) == ARGV[1] .. '|' then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return v
  end
  return false
end
local e = redis.call('INCR', KEYS[2])
local nv = ARGV[1] .. '|' .. e
redis.call('SET', KEYS[1], nv, 'PX', ARGV[2])
return nv
`;

// Deletes the lease only if ARGV[1] holds it.
const RELEASE = `
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, #ARGV[1] + 1) == ARGV[1] .. '|' then return redis.call('DEL', KEYS[1]) end
return 0
`;

export class Lease {
  /** The epoch of the current holding, or null while not held. */
  epoch: number | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    readonly holder: string,
    readonly ttlMs: number,
  ) {
    if (holder.includes('|')) throw new Error(`a lease holder id may not contain '|': ${holder}`);
  }

  /** Takes the lease when free, renews it when held; true while this holder has it. */
  async acquire(): Promise<boolean> {
    const v = (await this.redis.eval(ACQUIRE, 2, this.key, `${this.key}:epoch`, this.holder, this.ttlMs)) as
      string | null;
    this.epoch = v ? Number(v.slice(v.lastIndexOf('|') + 1)) : null;
    return this.epoch !== null;
  }

  /** Gives the lease up at once (on shutdown), so another replica need not wait for its expiry. */
  async release(): Promise<void> {
    this.epoch = null;
    await this.redis.eval(RELEASE, 1, this.key, this.holder);
  }

  /** Who holds it now ("holder|epoch"), or null. */
  async current(): Promise<string | null> {
    return this.redis.get(this.key);
  }
}

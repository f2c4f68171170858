// The active-queue index: a Redis set of the job queues that may hold work, so that a
// dispatch round reads only those, not every queue ever created (issue #14).
//
// The rule that keeps it safe: a queue enters the index whenever work is added to it from
// outside (a submit, a dependency release, a preemption's requeue), and leaves it only
// through `prune`, a script that removes it atomically, and only when it holds nothing at
// all: waiting, prioritized, delayed, paused *and running* (BullMQ's `active` list). The
// paths that put a job back inside BullMQ's own scripts (a retry's move to `delayed`,
// stalled-job recovery's move back to `wait`, a takeback) all start from a running job, and
// a queue with a running job is never pruned, so none of them can leave work unindexed; and
// a running job's queue being indexed is also what makes the index a complete source for
// the running counts of the fair-share key and of `maxRunning`. A submit adds its jobs, then
// the index entry: a prune that runs in between sees the jobs and keeps the entry, one that
// runs before is followed by the add. `sweep` re-adds non-empty queues, for data written
// before the index existed (each puller runs it once at start).
import type { Redis } from 'ioredis';
import type { Keys } from '../state/keys.ts';
import type { QueueCounts } from './tenant-queues.ts';

/** Sum of a queue's job lists; ARGV[1] is the BullMQ prefix, then queue names. */
const QUEUE_TOTAL = `
local function total(name)
  local k = ARGV[1] .. ':' .. name
  return redis.call('LLEN', k .. ':wait') + redis.call('ZCARD', k .. ':prioritized')
    + redis.call('ZCARD', k .. ':delayed') + redis.call('LLEN', k .. ':paused') + redis.call('LLEN', k .. ':active')
end
`;

const PRUNE = `${QUEUE_TOTAL}
local removed = 0
for i = 2, #ARGV do
  if total(ARGV[i]) == 0 then removed = removed + redis.call('SREM', KEYS[1], ARGV[i]) end
end
return removed`;

const SWEEP = `${QUEUE_TOTAL}
local added = 0
for i = 2, #ARGV do
  if total(ARGV[i]) > 0 then added = added + redis.call('SADD', KEYS[1], ARGV[i]) end
end
return added`;

// The index with every member's counts, in one script: the dispatch round's whole read of the
// queues (one reply instead of three or four commands per queue, whose client-side cost was most of
// a round at 1,000 queues). Members found holding nothing are removed on the way, atomically as
// in PRUNE. Returns per remaining member: name, ready (waiting + prioritized), delayed, running.
// A FIFO queue (its name does not end in '.p', tenant-queues.ts) only ever holds priority-0 jobs,
// which BullMQ never puts in the prioritized set: that read is for priority queues alone.
const QUEUE_COUNTS = `
local function counts(name)
  local k = ARGV[1] .. ':' .. name
  local ready = redis.call('LLEN', k .. ':wait')
  if string.sub(name, -2) == '.p' then ready = ready + redis.call('ZCARD', k .. ':prioritized') end
  return ready, redis.call('ZCARD', k .. ':delayed'), redis.call('LLEN', k .. ':active'), k
end
`;
const SNAPSHOT = `${QUEUE_COUNTS}
local out = {}
for _, name in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local ready, delayed, running, k = counts(name)
  if ready + delayed + running + redis.call('LLEN', k .. ':paused') == 0 then
    redis.call('SREM', KEYS[1], name)
  else
    out[#out + 1] = name
    out[#out + 1] = ready
    out[#out + 1] = delayed
    out[#out + 1] = running
  end
end
return out`;

// The same counts for the named queues only (ARGV[2..]), zeros included, the index untouched:
// a round between two snapshots re-reads only the queues whose counts it knows have moved.
// The names are the caller's, in its order: the reply holds only the counts (ready, delayed,
// running per queue), a thousand strings fewer to send and parse at #14's scale.
const COUNTS_OF = `${QUEUE_COUNTS}
local out = {}
for i = 2, #ARGV do
  local ready, delayed, running = counts(ARGV[i])
  out[#out + 1] = ready
  out[#out + 1] = delayed
  out[#out + 1] = running
end
return out`;

type IndexScript = (key: string, prefix: string, ...names: string[]) => Promise<number>;

export class ActiveQueues {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly prefix: string,
  ) {
    // defineCommand sends the script by its SHA (EVALSHA) once loaded; once per connection.
    const r = redis as Redis & { usineActivePrune?: IndexScript };
    if (!r.usineActivePrune) {
      redis.defineCommand('usineActivePrune', { numberOfKeys: 1, lua: PRUNE });
      redis.defineCommand('usineActiveSweep', { numberOfKeys: 1, lua: SWEEP });
      redis.defineCommand('usineActiveSnapshot', { numberOfKeys: 1, lua: SNAPSHOT });
      redis.defineCommand('usineActiveCountsOf', { numberOfKeys: 1, lua: COUNTS_OF });
    }
  }

  private script(name: 'usineActivePrune' | 'usineActiveSweep'): IndexScript {
    return (this.redis as unknown as Record<string, IndexScript>)[name].bind(this.redis);
  }

  /**
   * Marks queues as holding work (after their jobs were added), then wakes the dispatch round and
   * the workers with their names: one round trip, and the index has them before anyone hears.
   */
  async add(names: string[]): Promise<void> {
    if (!names.length) return;
    const res = await this.redis
      .pipeline()
      .sadd(this.keys.active, ...names)
      .publish(this.keys.wakeChannel, names.join(','))
      .exec();
    const failed = res?.find(([err]) => err)?.[0];
    if (failed) throw failed;
  }

  /**
   * The indexed queues with their counts, in one script; those found empty leave the index.
   * Queues the index names are read whether or not they are in the registry (the caller tells strays).
   */
  async snapshot(): Promise<Map<string, QueueCounts>> {
    const flat = (await (this.redis as unknown as Record<string, IndexScript>).usineActiveSnapshot(
      this.keys.active,
      this.prefix,
    )) as unknown as (string | number)[];
    return ActiveQueues.unflatten(flat);
  }

  /** The counts of the named queues (indexed or not), in one script; the index is left as it is. */
  async countsOf(names: string[]): Promise<Map<string, QueueCounts>> {
    if (!names.length) return new Map();
    const flat = (await (this.redis as unknown as Record<string, IndexScript>).usineActiveCountsOf(
      this.keys.active,
      this.prefix,
      ...names,
    )) as unknown as number[];
    const out = new Map<string, QueueCounts>();
    names.forEach((name, i) => {
      const [ready, delayed, running] = [flat[3 * i], flat[3 * i + 1], flat[3 * i + 2]];
      out.set(name, { queued: ready + delayed, running, delayed });
    });
    return out;
  }

  private static unflatten(flat: (string | number)[]): Map<string, QueueCounts> {
    const out = new Map<string, QueueCounts>();
    for (let i = 0; i < flat.length; i += 4) {
      const [ready, delayed, running] = [flat[i + 1], flat[i + 2], flat[i + 3]].map(Number);
      out.set(String(flat[i]), { queued: ready + delayed, running, delayed });
    }
    return out;
  }

  async members(): Promise<string[]> {
    return this.redis.smembers(this.keys.active);
  }

  /** Removes those of `names` that hold nothing, queued or running, checked atomically; returns how many. */
  async prune(names: string[]): Promise<number> {
    return names.length ? this.script('usineActivePrune')(this.keys.active, this.prefix, ...names) : 0;
  }

  /** Adds those of `names` that hold anything; returns how many were missing. */
  async sweep(names: string[]): Promise<number> {
    let added = 0;
    // In slices: a script blocks Redis while it runs.
    for (let i = 0; i < names.length; i += 500)
      added += await this.script('usineActiveSweep')(this.keys.active, this.prefix, ...names.slice(i, i + 500));
    return added;
  }
}

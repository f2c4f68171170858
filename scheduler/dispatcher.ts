// The central dispatch round (docs/design/dispatch.md, step 3): on the scheduler replica that
// holds the dispatch lease, one snapshot of the queues with work, the usage and the live
// workers goes to the fair-share policy, and its picks become grants (state/grants.ts) that
// the workers take jobs by. The queues' counts are then read once per round for the whole
// installation, instead of once per round of every worker, and a submit wakes one process
// (this one), not every worker (#14).
//
// A round runs when work arrives (a submit's or requeue's wake-up), when workers took half the
// grants or found the lists dry (they have free slots), and on the leader's 1 s tick.
// Rounds never overlap. One for new work starts as soon as the running one ends (its wait is
// the submit's latency); the others wait at least as long as the last round took, so that the
// takes, which come with every grant, do not keep rounds back to back. Retries waiting out
// their backoff (BullMQ's delayed jobs) get grants only in the tick's round: a worker's take is
// what promotes a due one, and granting them in every round would spin workers on empty takes
// until they are due.
import type { Redis } from 'ioredis';
import type { Logger } from '../shared/logger.ts';
import { isRedisUnavailable, subscribeWhenReady } from '../shared/redis.ts';
import { pickSlots, type TenantLoad } from './policy/fair-share.ts';
import { matches } from './policy/matching.ts';
import { perTenant, type QueueCounts, type QueueInfo, type TenantQueues } from './queue/tenant-queues.ts';
import { GrantBoard, type GrantNews } from './state/grants.ts';
import type { Keys } from './state/keys.ts';
import { runningUsage } from './state/running-usage.ts';
import { DEFAULT_TENANT, tenantSchema, type Tenant } from './state/tenants.ts';
import { UsageLedger, type UsageSnapshot } from './state/usage.ts';
import type { WorkerRecord, WorkerRegistry } from './state/workers.ts';

export interface DispatcherOptions {
  redis: Redis;
  /** A connection of its own for pub/sub (wake-ups, grants taken). */
  subscriber: Redis;
  keys: Keys;
  queues: TenantQueues;
  workers: WorkerRegistry;
  halfLifeSeconds: number;
  catchUpSeconds: number;
  log: Logger;
  /** Each round's duration, for the metrics. */
  observeRound?: (seconds: number) => void;
}

/** Rounds start at least this far apart, and at least as far apart as the last one took. */
const MIN_GAP_MS = 2;
/**
 * The queue, tenant and worker tables are re-read about this often, in the background: a round
 * waits for them only when a queue is new to it. Read inside the round, at 1,000 tenants they
 * made one round a second several milliseconds longer, and a submit that came during it waited.
 */
const TABLES_MS = 1000;
/**
 * The usage hash is re-read at most this often between the tick's rounds (which always read
 * it). It holds two fields per tenant: at 1,000 tenants, reading and decaying it in every round
 * (tens a second under load) was a third of the round's CPU (bench:scale's profile,
 * 2026-11-30). What it misses meanwhile is at most this long: the workers' heartbeats, which
 * say what running jobs accrued, are read once a second too (TABLES_MS), and a round's own
 * catch-up raises are applied to the copy it keeps.
 */
const USAGE_MS = 250;

/** What one round decided, for tests and the bench. */
export interface RoundResult {
  /** Grants written, per requirement class. */
  grants: Map<string, string[]>;
  news: GrantNews;
}

export class Dispatcher {
  private readonly board: GrantBoard;
  private readonly usage: UsageLedger;
  private parsedTenants = new Map<string, { json: string; tenant: Tenant | null }>();
  private leading = false;
  private running: Promise<unknown> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private again = false;
  /** A wake-up came since the last round started: the next one skips the gap. */
  private urgent = false;
  /** The next round is the tick's: delayed jobs get grants too. */
  private tickDue = false;
  private lastEnd = 0;
  private lastMs = 0;
  /** Classes whose lists the last round left non-empty: emptied when their work is gone. */
  private written = new Set<string>();
  private tables: {
    at: number;
    queues: Map<string, QueueInfo>;
    tenants: Map<string, Tenant>;
    workers: WorkerRecord[];
  } | null = null;
  /** A background read of the tables under way (see TABLES_MS). */
  private refreshing: Promise<unknown> | null = null;
  private subscribed = false;
  /** The last round found nothing queued or running (its successor reads the index first, alone). */
  private idle = true;
  /**
   * The queues' counts as of the last round: the whole index's at the tick's round (and after
   * an idle one), else the previous counts with the queues that moved since re-read. A round
   * then reads what the jobs moved, not every queue with work (a snapshot of 10,000 queues
   * holds Redis for about 60 ms: bench:snapshot); what moved unannounced (a retry's backoff,
   * stalled-job recovery, jobs ending) is read at the next tick, within a second.
   */
  private counts = new Map<string, QueueCounts>();
  /**
   * Grants the last round wrote, and those taken since it started: a refill waits until half
   * are gone. A round per take had rounds back to back (at 1,000 tenants, a worker of 100 slots
   * asked for 30 a second, each re-reading and re-planning every tenant).
   */
  private grantedLastRound = 0;
  private takenSinceRound = 0;
  /** Queues whose counts moved since the last round's read: named by wake-ups, or granted. */
  private moved = new Set<string>();
  /** The usage as last read (see USAGE_MS), with this leader's raises since applied. */
  private usageKept: { at: number; snapshot: UsageSnapshot } | null = null;

  constructor(private readonly o: DispatcherOptions) {
    this.board = new GrantBoard(o.redis, o.keys);
    this.usage = new UsageLedger(o.redis, o.keys, o.halfLifeSeconds);
  }

  /** The leader's tick (once a second while it holds the lease): leads, and asks for a round. */
  async tick(): Promise<void> {
    if (!this.subscribed) {
      const { wakeChannel, grantsTakenChannel } = this.o.keys;
      // Not ready within 2 s (Redis down): the next tick tries again.
      await subscribeWhenReady(this.o.subscriber, [wakeChannel, grantsTakenChannel], 2000);
      // New work goes to the round at once, and its queues are re-read; takes only ask for a
      // refill, after the gap, once half the grants are gone or a worker found the lists dry.
      this.o.subscriber.on('message', (channel: string, message: string) => {
        if (channel === wakeChannel) {
          for (const name of message.split(',')) if (name) this.moved.add(name);
          this.request(true);
          return;
        }
        const n = Number(message) || 0;
        this.takenSinceRound += n;
        if (n === 0 || this.takenSinceRound * 2 >= this.grantedLastRound) this.request();
      });
      this.subscribed = true;
    }
    this.leading = true;
    this.tickDue = true;
    // Not awaited: a slow round (Redis frozen) must not hold up the lease's renewal.
    this.request();
  }

  /** The lease was lost or handed over: no more rounds here. Workers fall back to planning themselves once `grants-live` expires. */
  standDown(): void {
    this.leading = false;
    this.again = false;
    // A new lease starts from a whole snapshot.
    this.idle = true;
    this.counts = new Map();
    this.moved.clear();
    this.usageKept = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.tables = null;
    this.refreshing = null;
  }

  async stop(): Promise<void> {
    this.standDown();
    await this.running;
    if (this.subscribed) await this.o.subscriber.unsubscribe().catch(() => {});
  }

  /**
   * Asks for a round, never two at a time: after the gap, or (`urgent`: new work was submitted)
   * as soon as the running one ends. Takes come with every grant a worker pops, so they alone
   * would keep rounds back to back; new work is rarer, and its wait is the submit's latency.
   */
  private request(urgent = false): void {
    if (!this.leading) return;
    if (urgent) this.urgent = true;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer && !this.urgent) return;
    if (this.timer) clearTimeout(this.timer);
    const gap = this.urgent ? 0 : Math.max(MIN_GAP_MS, this.lastMs);
    const wait = Math.max(0, this.lastEnd + gap - Date.now());
    this.urgent = false;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.leading) return;
      const t0 = performance.now();
      this.running = this.round(Date.now(), false)
        .catch((err) => this.o.log.warn({ err: (err as Error).message }, 'dispatch round failed'))
        .finally(() => {
          this.lastMs = performance.now() - t0;
          this.lastEnd = Date.now();
          this.o.observeRound?.(this.lastMs / 1000);
          this.running = null;
          if (this.again) {
            this.again = false;
            this.request();
          }
        });
    }, wait);
  }

  /**
   * One round: snapshot, plan, grant. Exposed for tests and the bench, where it reads the whole
   * index; the leader's own rounds pass `whole` false and read only what moved between ticks.
   */
  async round(now = Date.now(), whole = true): Promise<RoundResult> {
    const withDelayed = this.tickDue;
    this.tickDue = false;
    this.takenSinceRound = 0;
    // The indexed queues' counts in one script, which also drops those found empty from the
    // index (or only the queues that moved), and the usage in the same round trip (not while
    // idle: the idle tick reads the index alone; between ticks at most every USAGE_MS).
    const full = whole || withDelayed || this.idle;
    const moved = [...this.moved];
    this.moved.clear();
    // Taken now: a stand-down while this round awaits Redis clears the field.
    const kept = this.usageKept;
    const freshUsage = full || !kept || now - kept.at >= USAGE_MS;
    const [read, usageRead] = await Promise.all([
      full ? this.o.queues.active.snapshot() : this.o.queues.active.countsOf(moved),
      this.idle || !freshUsage ? null : this.o.redis.hgetall(this.o.keys.usage),
    ]);
    if (full) this.counts = read;
    else for (const [name, c] of read) this.counts.set(name, c);
    const counts = this.counts;
    // Nothing queued or running anywhere: the idle round is this read, the live key and its news.
    this.idle = !counts.size && !this.written.size;
    if (this.idle) {
      await this.board.renew();
      this.grantedLastRound = 0;
      return { grants: new Map(), news: { front: null, alone: false, classes: [] } };
    }
    const t = await this.readTables([...counts.keys()], now);
    const active = [...counts.keys()].map((n) => t.queues.get(n)).filter((q) => q !== undefined);
    let usage = kept?.snapshot;
    if (freshUsage || !usage) {
      const raw = usageRead ?? (await this.o.redis.hgetall(this.o.keys.usage));
      usage = UsageLedger.parse(raw, this.o.halfLifeSeconds, now);
      this.usageKept = { at: now, snapshot: usage };
    }
    // What running jobs have accrued, per their workers' heartbeats: usage is charged as they run.
    const accruing = runningUsage(t.workers, now, this.o.halfLifeSeconds);
    // A floor on the mean job time keeps a batch of picks spread by weight even for no-op jobs.
    const mean = Math.max(usage.meanJobSeconds, 1e-3);
    // Running counts over every indexed queue of a tenant (a queue with running jobs is indexed),
    // raised by each grant of this round as it is made, across classes.
    const running = new Map([...perTenant(active, counts)].map(([n, c]) => [n, c.running]));
    // The same per class: the owed-first tier compares what a tenant holds of a class's slots with
    // its share of them (a tenant running elsewhere may be owed slots here, as preemption sees it).
    const runningIn = new Map<string, Map<string, number>>();
    for (const q of active) {
      const c = counts.get(q.name)!;
      if (!c.running) continue;
      const of = runningIn.get(q.cls) ?? new Map<string, number>();
      of.set(q.tenant, (of.get(q.tenant) ?? 0) + c.running);
      runningIn.set(q.cls, of);
    }
    const byClass = new Map<string, QueueInfo[]>();
    // What a take can get now: delayed jobs only in the tick's round (see the header).
    const grantable = new Map<string, QueueCounts>();
    for (const q of active) {
      const c = counts.get(q.name)!;
      const queued = withDelayed ? c.queued : c.queued - (c.delayed ?? 0);
      grantable.set(q.name, { queued, running: c.running });
      if (queued <= 0) continue;
      const list = byClass.get(q.cls);
      if (list) list.push(q);
      else byClass.set(q.cls, [q]);
    }
    const grants = new Map<string, string[]>();
    const raised = new Map<string, number>();
    const news: GrantNews = { front: null, alone: false, classes: [] };
    for (const [cls, queues] of byClass) {
      // As many grants as the class has slots on live workers (busy or not): each round
      // rewrites the list, so grants for slots not yet free are a plan of the next moments.
      const slots = t.workers
        .filter((w) => matches(queues[0].requirements, w.caps))
        .reduce((s, w) => s + w.concurrency, 0);
      const loads: TenantLoad[] = [];
      for (const [name, c] of perTenant(queues, grantable)) {
        const tenant = t.tenants.get(name) ?? { ...DEFAULT_TENANT, name };
        loads.push({
          name,
          weight: tenant.weight,
          maxRunning: tenant.maxRunning,
          queued: c.queued,
          running: running.get(name) ?? 0,
          poolRunning: runningIn.get(cls)?.get(name) ?? 0,
          usage: raised.get(name) ?? usage.usage.get(name) ?? 0,
          runningUsage: accruing.get(name) ?? 0,
        });
      }
      const queued = loads.reduce((s, l) => s + l.queued, 0);
      // The class's slots as the pool: the tenants owed a whole slot of it go first (fair-share.ts).
      const plan = pickSlots(loads, Math.min(slots, queued), mean, this.o.catchUpSeconds, slots);
      grants.set(
        cls,
        plan.picks.map((p) => p.name),
      );
      for (const p of plan.picks) running.set(p.name, (running.get(p.name) ?? 0) + 1);
      // The granted tenants' queues move as workers take: the next round re-reads them.
      const picked = new Set(plan.picks.map((p) => p.name));
      for (const q of queues) if (picked.has(q.tenant)) this.moved.add(q.name);
      for (const [name, u] of plan.raised) raised.set(name, u);
      // Chaining (FairPuller.mayChain) takes from a job's own queue: not while its tenant has
      // prioritized work waiting, which the grants' takes reach first.
      const first = plan.first?.name;
      if (!news.front && first && !queues.some((q) => q.tenant === first && q.prioritized)) news.front = first;
      // Alone: its jobs may chain for a second (FairPuller.mayChain), unless it has prioritized
      // work waiting, which must not wait behind a chain of its priority-0 jobs.
      news.alone = byClass.size === 1 && !!plan.first?.alone && !queues.some((q) => q.prioritized);
    }
    news.classes = [...grants].filter(([, g]) => g.length).map(([cls]) => cls);
    // Classes granted last round and without work now: their lists are emptied.
    for (const cls of this.written) if (!grants.has(cls)) grants.set(cls, []);
    // The raises, the lists, the live key and the news: one transaction.
    if (grants.size) await this.board.write(grants, news, (m) => this.usage.raiseIn(m, raised, now));
    else {
      await this.usage.raise(raised, now);
      await this.board.renew();
    }
    // The raises are in Redis now: the copy kept until the next read has them too.
    for (const [name, u] of raised) usage.usage.set(name, Math.max(usage.usage.get(name) ?? 0, u));
    this.written = new Set([...grants].filter(([, g]) => g.length).map(([cls]) => cls));
    this.grantedLastRound = [...grants.values()].reduce((sum, g) => sum + g.length, 0);
    this.o.log.debug({ queues: active.length, grants: this.grantedLastRound, tick: withDelayed }, 'dispatch round');
    return { grants, news };
  }

  /**
   * The tables as last read, while they know every queue in `names` (else read now); once they
   * are TABLES_MS old, re-read in the background.
   */
  private async readTables(names: string[], now: number): Promise<NonNullable<Dispatcher['tables']>> {
    const t = this.tables;
    if (t && names.every((n) => t.queues.has(n))) {
      if (now - t.at >= TABLES_MS && !this.refreshing) {
        const refresh = (this.refreshing = this.readTablesNow(now)
          .catch((err) =>
            isRedisUnavailable(err)
              ? this.o.log.debug({ err: (err as Error).message }, 'could not re-read the tables')
              : this.o.log.warn({ err }, 'could not re-read the tables'),
          )
          .finally(() => {
            if (this.refreshing === refresh) this.refreshing = null;
          }));
      }
      return t;
    }
    return this.readTablesNow(now);
  }

  private async readTablesNow(now: number): Promise<NonNullable<Dispatcher['tables']>> {
    const [queues, tenantsRaw, workers] = await Promise.all([
      this.o.queues.list(),
      this.o.redis.hgetall(this.o.keys.tenants),
      this.o.workers.live(now),
    ]);
    // Parsed again only when an entry's text changed (the table is re-read every second).
    const tenants = new Map<string, Tenant>();
    const parsed = new Map<string, { json: string; tenant: Tenant | null }>();
    for (const [name, json] of Object.entries(tenantsRaw)) {
      const last = this.parsedTenants.get(name);
      const entry =
        last?.json === json ? last : { json, tenant: tenantSchema.safeParse(JSON.parse(json)).data ?? null };
      parsed.set(name, entry);
      if (entry.tenant) tenants.set(name, entry.tenant);
    }
    this.parsedTenants = parsed;
    this.tables = { at: now, queues: new Map(queues.map((q) => [q.name, q])), tenants, workers };
    return this.tables;
  }
}

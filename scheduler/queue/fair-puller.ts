// The dispatch loop that runs in every worker process: whenever a device slot is free, it
// takes the next grants of the scheduler's dispatch round (scheduler/dispatcher.ts): tenants
// in fair-share order, each a job to take from that tenant's queue of a class this device
// serves. Without a round (no scheduler holds the lease) it asks the fair-share policy itself,
// reading the queues with work. Jobs stay ordinary BullMQ jobs (atomic moves, locks,
// stalled-job recovery, retries with backoff); only the choice of queue is ours.
import { randomUUID } from 'node:crypto';
import { UnrecoverableError, WaitingError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/logger.ts';
import { BlockingConnection } from '../../shared/blocking-connection.ts';
import { isRedisUnavailable, requireRedisVersion, subscribeWhenReady } from '../../shared/redis.ts';
import { CANCELLED_REASON, type JobData, type LastPreemption } from '../../shared/queues.ts';
import { pickSlots, type TenantLoad } from '../policy/fair-share.ts';
import { matches, type DeviceCaps } from '../policy/matching.ts';
import { GRANTS_LIVE_MS, GrantBoard, type GrantNews } from '../state/grants.ts';
import type { Keys } from '../state/keys.ts';
import type { RunningJob } from '../state/workers.ts';
import { tenantSchema, DEFAULT_TENANT } from '../state/tenants.ts';
import { UsageLedger } from '../state/usage.ts';
import { AccountingBuffer } from './accounting-buffer.ts';
import { PreemptionHandler, type Attempt } from './preemption-handler.ts';
import { QueueWorkerFactory, type QueueWorker } from './queue-workers.ts';
import { SlotReservations } from './slot-reservations.ts';
import { TenantQueues, perTenant, queueName, type QueueInfo } from './tenant-queues.ts';

/** How long a dispatch plan may be followed without being redone (see FairPuller.front). */
const CHAIN_MS = 50;
/**
 * The same when the plan had one tenant alone with queued work: nobody to be fair to until
 * another tenant submits, which resets the plan at once (a retry waiting out its backoff
 * counts as queued work, so its tenant is in the plan already).
 */
const CHAIN_ALONE_MS = 1000;

/**
 * While taking grants, the queue and tenant tables are re-read at least this often (ms), a
 * safety net for a requirement class new to this process that it heard no news of (news
 * naming one re-reads them at once).
 */
const TABLES_GRANTED_MS = 5000;

/** Stalled-job checks sent at once (see checkStalled). */
const STALLED_BATCH = 50;

/** How long a cancel heard for a job not running here is kept (ms; see FairPuller.cancel). */
const EARLY_CANCEL_MS = 60_000;

/** Pullers woken by one submit start their rounds up to this far apart (ms). */
const WAKE_JITTER_MS = 3;

export interface RunOutcome {
  result: unknown;
  /** Floating-point operations the job executed (for usage accounting). */
  flops: number;
}

/** What a running attempt tells the puller. */
export interface AttemptHooks {
  /** The job saved a checkpoint: a preemption now would lose only the work since. */
  checkpointed(): void;
}

export type Processor = (job: Job<JobData>, signal: AbortSignal, hooks: AttemptHooks) => Promise<RunOutcome>;

export interface PullerOptions {
  redis: Redis;
  /** A second connection for pub/sub (wake-ups and cancellations). */
  subscriber: Redis;
  keys: Keys;
  prefix: string;
  workerName: string;
  /** This run's id in the worker table: the one preemption requests name. */
  workerId: string;
  caps: DeviceCaps;
  concurrency: number;
  halfLifeSeconds: number;
  catchUpSeconds: number;
  /** Lock duration of a running job; its expiry is how a dead worker's jobs are found. */
  lockMs: number;
  /** The device's power figure in watts, for the energy estimate. */
  powerWatts: number;
  log: Logger;
  process: Processor;
  /** How long an idle puller waits for a wake-up before looking again (1 s). */
  idlePollMs?: number;
  /**
   * The same when the active-queue index was empty: new work then arrives by a submit or a
   * requeue, both of which publish a wake-up, so this poll is only a safety net (5 s).
   */
  idleEmptyPollMs?: number;
  /** Spread of the rounds a wake-up starts (3 ms; see onWake). */
  wakeJitterMs?: number;
  /** Called when the set of running jobs changes (the worker then heartbeats soon). */
  onRunningChange?: () => void;
  /** Called once a preempted job is back in its queue (the worker writes its job log line). */
  onPreempted?: (job: Job<JobData>, last: LastPreemption) => void;
  /** Called once BullMQ accepted a job's completion (a stale worker's completion is refused, not reported). */
  onCompleted?: (job: Job<JobData>) => void;
}

export class FairPuller {
  private readonly queues: TenantQueues;
  private readonly workers = new Map<string, QueueWorker>();
  private readonly queueWorkers: QueueWorkerFactory;
  private readonly inFlight = new Map<string, { promise: Promise<unknown>; worker: QueueWorker }>();
  private readonly usage: UsageLedger;
  private readonly grants: GrantBoard;
  /**
   * A scheduler's round plans (its news came, and the latest take found grants live): take
   * grants, and leave wake-ups to the round. Cleared when a take finds no round writes grants.
   */
  private granted = false;
  /** When the round's latest news came (ms): a round silent for GRANTS_LIVE_MS is gone. */
  private lastNews = 0;
  /** The connection a worker with free slots blocks on while the grant lists are dry. */
  private readonly blocking: BlockingConnection;
  /** Ends a wait on the grant lists once the round's news stops (see start). */
  private watchdog: NodeJS.Timeout | null = null;
  private readonly accounting: AccountingBuffer;
  /** Running attempts by job id (set while the processor runs, and until a preempted job is requeued). */
  private readonly attempts = new Map<string, Attempt>();
  /** Cancels heard for jobs not (yet) running here, by when (see cancel). */
  private readonly earlyCancels = new Map<string, number>();
  /** Slots freed by preemptions, kept for the preemptors' tenants (slot-reservations.ts). */
  private readonly reservations = new SlotReservations();
  /** The worker's side of preemption (preemption-handler.ts). */
  private readonly preemptions: PreemptionHandler;
  private stopping = false;
  private readonly stopped = new AbortController();
  private stalledChecks: Promise<void> | null = null;
  /** A background read of the tenants' table under way (see refreshTenants). */
  private refreshingTenants: Promise<unknown> | null = null;
  /**
   * The queue and tenant tables change rarely: re-read them at most once a second while
   * there is work, or when the active-queue index names a queue they lack. `mine`: the
   * queues this device can serve.
   */
  private tables: {
    at: number;
    /** When `tenants` was read (with the rest, or alone: see takeGrants). */
    tenantsAt: number;
    queues: Map<string, QueueInfo>;
    mine: Set<string>;
    /** The requirement classes of `mine`: the grant lists this device takes from. */
    classes: string[];
    /** Every class of the queue table (a grant news naming another one means the table is stale). */
    allClasses: Set<string>;
    strays: Set<string>;
    tenants: Record<string, string>;
    /** Every queue of each tenant (a grant's take looks there, not through every queue). */
    byTenant: Map<string, QueueInfo[]>;
  } | null = null;
  /** Tenant entries parsed so far, with their text: parsed again only once it changes. */
  private readonly parsedTenants = new Map<
    string,
    { raw: string | undefined; tenant: Pick<TenantLoad, 'name' | 'maxRunning'> }
  >();
  /** Whether this device serves a requirement class (a class names one set of requirements). */
  private readonly servesClass = new Map<string, boolean>();
  /** The latest round found the active-queue index empty: nothing queued or running anywhere. */
  private indexEmpty = false;
  /**
   * The tenant the latest plan put first, and when. For a short job of that tenant, BullMQ
   * may fetch the tenant's next job in the same round trip that completes this one (as its
   * own worker loop does); the plan is redone every CHAIN_MS, so the choice stays fair.
   */
  private front: { tenant: string; at: number; alone: boolean } | null = null;
  private wake: (() => void) | null = null;
  /** A wake-up's poke, waiting out its jitter. */
  private jitter: NodeJS.Timeout | null = null;
  /** A poke that came while the loop was busy: the next idle() returns at once (no lost wake-up). */
  private poked = false;
  /**
   * The last round took every queued job it could see: until a submit says otherwise, a
   * finished job frees a slot that no queued job waits for, so it need not start a round
   * (at thousands of short jobs a second, rounds that find nothing would cost more than the jobs).
   */
  private drained = false;
  private loop: Promise<void> | null = null;

  constructor(private readonly o: PullerOptions) {
    this.queues = new TenantQueues(o.redis, o.keys, o.prefix);
    this.queueWorkers = new QueueWorkerFactory(o);
    this.usage = new UsageLedger(o.redis, o.keys, o.halfLifeSeconds);
    this.grants = new GrantBoard(o.redis, o.keys);
    this.blocking = new BlockingConnection(o.redis, `${o.workerName}:grants`);
    this.accounting = new AccountingBuffer(o.redis, o.keys, this.usage, o.log);
    this.preemptions = new PreemptionHandler({
      redis: o.redis,
      keys: o.keys,
      workerName: o.workerName,
      workerId: o.workerId,
      powerWatts: o.powerWatts,
      log: o.log,
      queues: this.queues,
      accounting: this.accounting,
      attempts: this.attempts,
      reservations: this.reservations,
      // The freed slot is reserved: planned here (fill), not waited on for grants.
      slotFreed: () => {
        this.drained = false;
        this.rouse();
      },
      onPreempted: o.onPreempted,
    });
  }

  /** Ids of the jobs running here now. */
  running(): string[] {
    return [...this.inFlight.keys()];
  }

  /** The running jobs in detail, for the heartbeat (what the scheduler picks preemption victims from). */
  runningJobs(): RunningJob[] {
    return [...this.attempts.values()].map((a) => ({ ...a.info }));
  }

  async start(): Promise<void> {
    const { wakeChannel, cancelChannel, preemptChannel, grantsChannel } = this.o.keys;
    await requireRedisVersion(this.o.redis);
    await subscribeWhenReady(this.o.subscriber, [wakeChannel, cancelChannel, preemptChannel, grantsChannel]);
    this.o.subscriber.on('message', (channel: string, message: string) => {
      if (channel === cancelChannel) this.cancel(message, CANCELLED_REASON);
      else if (channel === grantsChannel) this.onGrants(JSON.parse(message) as GrantNews);
      else if (channel === preemptChannel) {
        // Every worker hears every request: only one that runs the job reads it.
        if (this.attempts.has(message))
          this.preempt(message).catch((err) => this.o.log.error({ err, job: message }, 'preemption failed'));
      } else this.onWake(message.split(','));
    });
    await this.preemptions.reportStale();
    // A round already writes grants: take them from the first round on (its news comes each second).
    this.granted = (await this.o.redis.exists(this.o.keys.grantsLive)) === 1;
    this.lastNews = Date.now();
    // Queues holding work from before the active-queue index (or an index lost with its
    // Redis) are indexed again here; after that the index is kept up by the paths that add work.
    try {
      const added = await this.queues.active.sweep((await this.queues.list()).map((q) => q.name));
      await this.readTables(await this.queues.active.members());
      if (added) this.o.log.info({ queues: added }, 'queues with work added to the active-queue index');
    } catch (err) {
      this.o.log.warn({ err }, 'could not sweep the active-queue index or read the queue table');
    }
    this.loop = this.run();
    this.stalledChecks = this.checkStalled();
    // A worker waiting on the grant lists hears no Redis command end: once the round's news stops
    // (its scheduler died, or lost the lease), it stops waiting and plans for itself (fill).
    this.watchdog = setInterval(() => {
      if (this.granted && Date.now() - this.lastNews > GRANTS_LIVE_MS) this.rouse();
    }, 1000);
    this.watchdog.unref();
  }

  /**
   * Carries out a preemption request for a job running here: once, and only if it names
   * this worker and this attempt. The slot it frees is reserved for the requesting tenant.
   */
  preempt(jobId: string): Promise<boolean> {
    return this.preemptions.preempt(jobId);
  }

  /** Aborts a job running here (cancel or timeout); a no-op elsewhere. */
  cancel(jobId: string, reason: string): boolean {
    // The signal keeps its first reason: a preemption under way must learn of the cancel here.
    this.preemptions.stopped(this.attempts.get(jobId), reason);
    const done = this.inFlight.get(jobId)?.worker.cancelJob(jobId, reason) ?? false;
    // The API publishes a cancel once, when it finds the job taken: a worker may hear it just
    // before its take returns the job (or before BullMQ can abort it). Kept a minute, it stops
    // the job as it starts here.
    if (!done && reason === CANCELLED_REASON) {
      const now = Date.now();
      for (const [id, at] of this.earlyCancels) if (now - at > EARLY_CANCEL_MS) this.earlyCancels.delete(id);
      this.earlyCancels.set(jobId, now);
    }
    return done;
  }

  /**
   * A submit or requeue named the queues it put work in. A puller that can serve none of them
   * starts no round, one without a free slot waits for one (a finished job starts the round),
   * and the rest start theirs a random moment apart: one submit does not make every worker
   * read at once (#14's stampede).
   */
  private onWake(names: string[]): void {
    const t = this.tables;
    const infos = names.map((n) => t?.queues.get(n));
    // A queue this process has not seen yet may be one it can serve.
    if (!infos.some((q, i) => !q || t!.mine.has(names[i]))) return;
    // One new here (a tenant's first priority queue, say): the next take re-reads the queue table
    // first, or it would take the tenant's job from the queue it knows, before a prioritized one.
    if (t && infos.some((q, i) => !q && !t.strays.has(names[i]))) t.at = 0;
    // New work of another tenant may change who goes first: no more chaining until the next
    // plan. More work for the tenant already alone at the front changes nothing, unless it is
    // prioritized: it must not wait behind a chain of that tenant's FIFO jobs.
    const front = this.front;
    if (!(front?.alone && infos.every((q) => q && q.tenant === front.tenant && !q.prioritized))) this.front = null;
    // The scheduler's round heard it too, and its grants will say who goes next.
    if (this.granted) return;
    this.drained = false;
    if (this.inFlight.size >= this.o.concurrency || this.jitter) return;
    this.jitter = setTimeout(
      () => {
        this.jitter = null;
        this.poke();
      },
      Math.random() * (this.o.wakeJitterMs ?? WAKE_JITTER_MS),
    );
  }

  /**
   * A round ran. Its grants reach the pullers waiting on the lists without this (Redis hands them
   * over); the news says a round runs, who is at the front (for chaining), and wakes a puller
   * that was planning for itself.
   */
  private onGrants(news: GrantNews): void {
    this.granted = true;
    this.lastNews = Date.now();
    const t = this.tables;
    // Grants in a class this process has not seen: it may serve it (fill re-reads the tables, and
    // waits on that class's list too).
    const unseen = !!t && news.classes.some((c) => !t.allClasses.has(c));
    if (unseen) {
      t.at = 0;
      this.blocking.interrupt();
    }
    // Chaining (mayChain) follows the round's front tenant, as it follows a local plan's.
    this.front = news.front ? { tenant: news.front, at: Date.now(), alone: news.alone } : null;
    this.drained = false;
    // An idle round's news (no grants anywhere) only says a round runs: nothing to take.
    if (this.inFlight.size < this.o.concurrency && (!t || unseen || news.classes.some((c) => t.classes.includes(c))))
      this.poke();
  }

  private poke(): void {
    if (this.wake) this.wake();
    else this.poked = true;
  }

  /** Wakes the loop wherever it waits: idle, or blocked on the grant lists. */
  private rouse(): void {
    this.poke();
    this.blocking.interrupt();
  }

  private worker(name: string): QueueWorker {
    let w = this.workers.get(name);
    if (!w) {
      const self: QueueWorker = (w = this.queueWorkers.create(name, (job, token, signal) =>
        this.execute(job, token!, signal!, self),
      ));
      // While Redis is away every queue's worker reports each failed command: the worker's
      // health check logs the outage once, so these go to debug.
      w.on('error', (err) =>
        isRedisUnavailable(err)
          ? this.o.log.debug({ err: err.message, queue: name }, 'queue worker: redis unavailable')
          : this.o.log.error({ err, queue: name }, 'queue worker error'),
      );
      if (this.o.onCompleted) w.on('completed', (job) => this.o.onCompleted!(job));
      w.startManual();
      this.workers.set(name, w);
    }
    return w;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      if (this.inFlight.size >= this.o.concurrency) {
        // Woken by a finished job, or (once drained, when finished jobs do not wake it) by a
        // submit or the poll.
        await this.idle(this.o.idlePollMs ?? 1000);
        // Busy: let a few more slots free up so one snapshot plans them together.
        if (this.inFlight.size > this.o.concurrency / 2) await new Promise((r) => setTimeout(r, 2));
        continue;
      }
      let took = 0;
      try {
        took = await this.fill();
      } catch (err) {
        if (this.stopping) break;
        this.o.log.error({ err }, 'dispatch failed; retrying in 1 s');
        await this.idle(1000);
        continue;
      }
      if (!took) await this.idle(this.indexEmpty ? (this.o.idleEmptyPollMs ?? 5000) : (this.o.idlePollMs ?? 1000));
    }
  }

  /** Waits until poked (a submit, a slot freed) or `ms` pass. */
  private idle(ms: number): Promise<void> {
    if (this.poked) {
      this.poked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(() => done(), ms) : null;
      const done = () => {
        if (timer) clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      this.wake = done;
    });
  }

  /** One round of dispatch: the scheduler's grants, or a plan of this puller's own. */
  private async fill(): Promise<number> {
    const free = this.o.concurrency - this.inFlight.size;
    // Slots freed by a preemption are planned here, for the tenants they were freed for.
    // No news for that long: no round runs (no scheduler holds the lease); plan here.
    if (this.granted && Date.now() - this.lastNews > GRANTS_LIVE_MS) this.granted = false;
    if (this.granted && this.tables && !this.reservations.size && free > 0) {
      // News named a class new here: this device may serve it.
      if (this.tables.at === 0 || Date.now() - this.tables.at > TABLES_GRANTED_MS) await this.readTables([]);
      // No class of this device has a queue yet: nothing to pop or wait on (news of a new class pokes).
      if (!this.tables.classes.length) return 0;
      const taken = await this.grants.take(this.tables.classes, free);
      this.granted = taken.live;
      if (taken.live) {
        let grants = taken.grants;
        if (!grants.length) {
          // Dry: the round hears that this worker has free slots (once until it gets grants
          // again), and the worker waits on the lists. Idle, it sends nothing more.
          if (!this.drained) await this.grants.taken(0);
          this.drained = true;
          grants = await this.grants.wait(this.blocking, this.tables.classes, free);
          // Interrupted (a reserved slot, the round gone quiet, a class new here, a stop): the
          // loop goes round again at once (rouse poked it).
          if (!grants.length) return 0;
        }
        this.drained = false;
        return this.takeGrants(grants);
      }
    }
    return this.plan(free);
  }

  /**
   * Takes the jobs of the grants popped; returns how many grants there were (a grant whose
   * job another worker took costs one empty take: the loop then pops again).
   */
  private async takeGrants(grants: { cls: string; tenant: string }[]): Promise<number> {
    this.indexEmpty = false;
    let t = this.tables!;
    // The queue table is re-read at once for a grant naming a queue new to this process (a new
    // tenant, or class), or after a wake-up named one (onWake). About once a second the tenants'
    // table (their limits may change) and the queue table's length are read, in the background
    // (see refreshTenants).
    const known = (g: { cls: string; tenant: string }) =>
      t.queues.has(queueName(g.tenant, g.cls)) || t.queues.has(queueName(g.tenant, g.cls, true));
    if (t.at === 0 || !grants.every(known)) {
      await this.readTables([]);
      t = this.tables!;
    } else if (Date.now() - t.tenantsAt > 1000 && !this.refreshingTenants) {
      this.refreshingTenants = this.refreshTenants()
        .catch((err) =>
          isRedisUnavailable(err)
            ? this.o.log.debug({ err: (err as Error).message }, 'could not re-read the tenant table')
            : this.o.log.warn({ err }, 'could not re-read the tenant table'),
        )
        .finally(() => (this.refreshingTenants = null));
    }
    await Promise.all(
      grants.map((g) => {
        const own = t.byTenant.get(g.tenant) ?? [];
        const candidates = own.filter((q) => q.cls === g.cls && t.mine.has(q.name));
        return this.takeFrom(this.tenant(g.tenant), candidates, own);
      }),
    );
    await this.grants.taken(grants.length);
    return grants.length;
  }

  /**
   * Re-reads the tenants' table and the queue table's length: the whole queue table only when it
   * grew (a tenant's first priority queue is new while its other queue is known). At 1,000
   * tenants, re-reading and indexing the queue table every second was a twentieth of a worker's
   * CPU; and awaited by the take, this read made one take a second per worker wait for 1,000
   * tenants' entries.
   */
  private async refreshTenants(): Promise<void> {
    const t = this.tables!;
    const [[tenantsErr, tenants], [queuesErr, queues]] = ((await this.o.redis
      .pipeline()
      .hgetall(this.o.keys.tenants)
      .hlen(this.o.keys.queues)
      .exec()) ?? [[], []]) as [Error | null, unknown][];
    if (tenantsErr || queuesErr || !tenants) throw tenantsErr ?? queuesErr ?? new Error('no reply');
    if (this.tables !== t) return; // re-read whole meanwhile
    t.tenants = tenants as Record<string, string>;
    t.tenantsAt = Date.now();
    if (Number(queues) !== t.queues.size) await this.readTables([]);
  }

  /**
   * What a grant's take needs of a tenant's entry (its limit), read once per version of its text.
   * The API validated the entry when it wrote it; the schema's parse of every granted tenant, a
   * thousand per worker at #14's scale, was a tenth of a worker's CPU in bench:scale.
   */
  private tenant(name: string): Pick<TenantLoad, 'name' | 'maxRunning'> {
    const raw = this.tables?.tenants[name];
    const last = this.parsedTenants.get(name);
    if (last && last.raw === raw) return last.tenant;
    let maxRunning = DEFAULT_TENANT.maxRunning;
    try {
      const entry = raw ? (JSON.parse(raw) as { maxRunning?: unknown }) : {};
      if (typeof entry.maxRunning === 'number') maxRunning = entry.maxRunning;
    } catch {
      // Unreadable: the default limit, as for a tenant without an entry.
    }
    const tenant = { name, maxRunning };
    this.parsedTenants.set(name, { raw, tenant });
    return tenant;
  }

  /**
   * Plans locally (no scheduler's round, or slots reserved by a preemption): every free slot
   * is planned from one snapshot of the queues and usage (each choice counted as running
   * before the next is made), then the jobs are taken concurrently. Returns how many were taken.
   */
  private async plan(free: number): Promise<number> {
    // Only queues that may hold work (active-queues.ts): an idle cluster's round is this one read.
    const names = await this.queues.active.members();
    this.indexEmpty = names.length === 0;
    if (this.indexEmpty) {
      this.drained = true;
      return 0;
    }
    const t = this.tables;
    // A queue new to this process: re-read the tables (once: a name in the index without a
    // registry entry is a stray, not a reason to re-read at every round).
    const unknown = !!t && names.some((n) => !t.queues.has(n) && !t.strays.has(n));
    if (!t || unknown || Date.now() - t.at > 1000) await this.readTables(names);
    const { queues: known, mine: servable, tenants: tenantsRaw } = this.tables!;
    const all = names.map((n) => known.get(n)).filter((q) => q !== undefined);
    const mine = all.filter((q) => servable.has(q.name));
    if (mine.length === 0 || free <= 0) return 0;
    const [counts, usageRaw] = await Promise.all([this.queues.counts(all), this.o.redis.hgetall(this.o.keys.usage)]);
    // Queues found holding nothing leave the index (the script checks again, atomically).
    const empty = all.filter((q) => counts.get(q.name)!.queued + counts.get(q.name)!.running === 0);
    const pruning = this.queues.active
      .prune(empty.map((q) => q.name))
      .catch((err) => this.o.log.warn({ err }, 'could not prune the active-queue index'));
    const usage = UsageLedger.parse(usageRaw, this.o.halfLifeSeconds);
    // A floor on the mean job time keeps a batch of picks spread by weight even for no-op jobs.
    const mean = Math.max(usage.meanJobSeconds, 1e-3);
    // Running counts over every indexed queue of the tenant: a queue with running jobs is indexed.
    const running = perTenant(all, counts);
    const queuedHere = perTenant(mine, counts); // queued work this device can serve
    // No `runningUsage` here: this fallback (no scheduler leading) reads no heartbeats, so running
    // jobs count only as `mean` each until their end charges what they accrued.
    const loads: TenantLoad[] = [];
    for (const [name, c] of queuedHere) {
      const t = tenantsRaw[name] ? tenantSchema.parse(JSON.parse(tenantsRaw[name])) : { ...DEFAULT_TENANT, name };
      loads.push({
        name,
        weight: t.weight,
        maxRunning: t.maxRunning,
        queued: c.queued,
        running: running.get(name)?.running ?? 0,
        usage: usage.usage.get(name) ?? 0,
      });
    }
    const picks: TenantLoad[] = [];
    // Slots freed by preemptions go to the tenants they were freed for; the others plan the rest.
    const reserved = this.reservations.size ? this.reservations.pick(loads, free, picks) : [];
    if (this.reservations.size) this.front = null;
    // One pick per free slot, each counted as running before the next (policy's pickSlots).
    const slots = free - this.reservations.size;
    const plan = pickSlots(loads, slots, mean, this.o.catchUpSeconds);
    if (slots > 0) this.front = plan.first && { tenant: plan.first.name, at: Date.now(), alone: plan.first.alone };
    picks.push(...plan.picks);
    const raised = plan.raised;
    await Promise.all([pruning, this.usage.raise(raised)]);
    const took = await Promise.all(picks.map((t) => this.takeFrom(t, mine, all)));
    // A reservation is used up once its tenant's job is taken.
    if (reserved.length) this.reservations.used(reserved.filter((_, i) => took[i]));
    // Drained: every tenant with queued work had all of it taken, or found nothing it could
    // take (another worker was faster, or only retries not yet due are left). A tenant left
    // with queued work (held by its quota, or more work than free slots) is not: its slots
    // freeing up must start a round.
    const foundNone = new Set(picks.filter((_, i) => !took[i]).map((t) => t.name));
    this.drained = loads.every((l) => l.queued <= 0 || foundNone.has(l.name));
    return took.filter(Boolean).length;
  }

  /** Reads the queue and tenant tables; `names`: the index as just read (to tell strays). */
  private async readTables(names: string[]): Promise<void> {
    const [queues, tenants] = await Promise.all([this.queues.list(), this.o.redis.hgetall(this.o.keys.tenants)]);
    const byName = new Map(queues.map((q) => [q.name, q]));
    const serves = (q: QueueInfo) => {
      let yes = this.servesClass.get(q.cls);
      if (yes === undefined) this.servesClass.set(q.cls, (yes = matches(q.requirements, this.o.caps)));
      return yes;
    };
    const servable = queues.filter(serves);
    const mine = new Set(servable.map((q) => q.name));
    const classes = [...new Set(servable.map((q) => q.cls))].sort();
    const strays = new Set(names.filter((n) => !byName.has(n)));
    const allClasses = new Set(queues.map((q) => q.cls));
    const byTenant = new Map<string, QueueInfo[]>();
    for (const q of queues) {
      const list = byTenant.get(q.tenant);
      if (list) list.push(q);
      else byTenant.set(q.tenant, [q]);
    }
    this.tables = {
      at: Date.now(),
      tenantsAt: Date.now(),
      queues: byName,
      mine,
      classes,
      allClasses,
      strays,
      tenants,
      byTenant,
    };
  }

  /**
   * Stalled-job checks, once per lock period, of every queue in the active-queue index
   * (queue-workers.ts says why only those). Every worker process runs them, so that the jobs
   * of a dead one come back while any other lives; BullMQ's script lets one check per queue
   * and period do the work, and the others return at once.
   */
  private async checkStalled(): Promise<void> {
    // Processes started together spread their checks over the period.
    await this.pause(Math.random() * this.o.lockMs);
    while (!this.stopping) {
      try {
        const names = await this.queues.active.members();
        for (let i = 0; i < names.length && !this.stopping; i += STALLED_BATCH)
          await Promise.all(names.slice(i, i + STALLED_BATCH).map((n) => this.worker(n).checkStalled()));
      } catch (err) {
        if (!isRedisUnavailable(err)) this.o.log.warn({ err }, 'stalled-job check failed');
      }
      await this.pause(this.o.lockMs);
    }
  }

  /** Waits `ms`, or until stop(). */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const stopped = this.stopped.signal;
      function done() {
        clearTimeout(timer);
        stopped.removeEventListener('abort', done);
        resolve();
      }
      stopped.addEventListener('abort', done);
    });
  }

  /** Takes the tenant's next job from a queue this device serves; false when none was left. */
  private async takeFrom(
    tenant: Pick<TenantLoad, 'name' | 'maxRunning'>,
    mine: QueueInfo[],
    all: QueueInfo[],
  ): Promise<boolean> {
    // The tenant's priority queues first: their jobs go before its priority-0 jobs.
    const candidates = mine
      .filter((q) => q.tenant === tenant.name)
      .sort((a, b) => Number(!!b.prioritized) - Number(!!a.prioritized) || a.name.localeCompare(b.name));
    for (const q of candidates) {
      const token = randomUUID();
      const w = this.worker(q.name);
      const job = await w.getNextJob(token, { block: false });
      if (!job) continue;
      if (await this.overQuota(tenant, all)) {
        // Another worker took a slot of this tenant at the same moment: hand the job back.
        await job.moveToDelayed(Date.now() + 100, token);
        return false;
      }
      this.begin(job, token, w);
      return true;
    }
    return false;
  }

  /** `all`: the indexed queues (every queue with a running job is one of them). */
  private async overQuota(tenant: Pick<TenantLoad, 'name' | 'maxRunning'>, all: QueueInfo[]): Promise<boolean> {
    if (tenant.maxRunning >= 1000) return false; // effectively unlimited: skip the round trip
    const mine = all.filter((q) => q.tenant === tenant.name);
    const running = [...(await this.queues.counts(mine)).values()].reduce((s, c) => s + c.running, 0);
    return running > tenant.maxRunning;
  }

  /** Whether completing `job` may fetch the next job of its queue at once. */
  private mayChain(job: Job<JobData>, started: number): boolean {
    const now = Date.now();
    const front = this.front;
    // A slot reserved after a preemption goes to its tenant through a round, not a chain.
    if (
      this.stopping ||
      this.reservations.size ||
      this.preemptions.wasRequeued(job) ||
      front?.tenant !== job.data.tenant ||
      now - started >= CHAIN_MS
    )
      return false;
    return now - front.at < (front.alone ? CHAIN_ALONE_MS : CHAIN_MS);
  }

  private begin(job: Job<JobData>, token: string, w: QueueWorker): void {
    const started = Date.now();
    const promise = w
      .processJob(job, token, () => this.mayChain(job, started))
      .catch((err) => this.o.log.error({ err, job: job.id }, 'job bookkeeping failed'))
      .then((next) => {
        this.inFlight.delete(job.id!);
        // BullMQ fetched the queue's next job while completing this one: run it in this slot.
        if (next && next.id) this.begin(next as Job<JobData>, next.token ?? token, w);
        this.o.onRunningChange?.();
        if (!this.drained) this.poke();
      });
    this.inFlight.set(job.id!, { promise, worker: w });
    this.o.onRunningChange?.();
  }

  /** Runs one attempt: timeout, accounting, events; BullMQ records the outcome. */
  private async execute(job: Job<JobData>, token: string, signal: AbortSignal, w: QueueWorker): Promise<unknown> {
    const { spec, tenant } = job.data;
    const started = Date.now();
    const attempt: Attempt = {
      info: {
        id: job.id!,
        tenant,
        queue: job.queueName,
        priority: spec.priority,
        preemptible: spec.preemptible ?? true,
        startedAt: started,
        checkpointAt: null,
        preemptions: job.data.preemption?.count ?? 0,
      },
      worker: w,
    };
    this.attempts.set(job.id!, attempt);
    const cancelledEarly = this.earlyCancels.delete(job.id!);
    const hooks: AttemptHooks = {
      checkpointed: () => {
        attempt.info.checkpointAt = Date.now();
        this.o.onRunningChange?.();
      },
    };
    this.accounting.event({
      kind: 'started',
      tenant,
      type: spec.type,
      // A preempted job waited since it was put back, not since its submit.
      waitSeconds:
        Math.max(0, started - (job.data.preemption ? Date.parse(job.data.preemption.last.at) : job.timestamp)) / 1000,
    });
    const timer = setTimeout(() => this.cancel(job.id!, 'timeout'), spec.timeoutSeconds * 1000);
    let flops = 0;
    let outcome: 'succeeded' | 'failed' | 'cancelled' | 'retry' | 'preempted' = 'failed';
    try {
      if (cancelledEarly) throw new UnrecoverableError(CANCELLED_REASON);
      const r = await this.preemptions.withGrace(attempt, this.o.process(job, signal, hooks));
      flops = r.flops;
      outcome = 'succeeded';
      return r.result;
    } catch (err) {
      if (this.preemptions.preempted(attempt, signal)) {
        outcome = 'preempted';
        await this.preemptions.requeue(job, token, attempt);
        // Tells BullMQ the job was moved (back to waiting): neither completed nor failed.
        throw new WaitingError();
      }
      if (cancelledEarly) {
        outcome = 'cancelled';
        throw new UnrecoverableError(CANCELLED_REASON);
      }
      if (signal.aborted) {
        const reason = attempt.stopReason ?? String(signal.reason ?? CANCELLED_REASON);
        outcome = reason === 'timeout' ? 'failed' : 'cancelled';
        // Neither a cancel nor a timeout is retried.
        throw new UnrecoverableError(
          reason === 'timeout' ? `timed out after ${spec.timeoutSeconds} s` : CANCELLED_REASON,
        );
      }
      const final = err instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      outcome = final ? 'failed' : 'retry';
      throw err;
    } finally {
      clearTimeout(timer);
      this.preemptions.ended(attempt);
      this.attempts.delete(job.id!);
      const seconds = (Date.now() - started) / 1000;
      this.accounting.charge(tenant, seconds, flops);
      if (outcome !== 'preempted')
        this.accounting.event({
          kind: 'ended',
          tenant,
          type: spec.type,
          outcome,
          runSeconds: seconds,
          flops,
          joules: seconds * this.o.powerWatts,
        });
    }
  }

  /**
   * Stops taking jobs. Graceful: waits for running jobs. Forced: aborts them, and they go
   * back to their queue (as stalled jobs) for another worker.
   */
  async stop(force = false): Promise<void> {
    this.stopping = true;
    this.stopped.abort();
    if (this.jitter) clearTimeout(this.jitter);
    if (this.watchdog) clearInterval(this.watchdog);
    this.blocking.close();
    this.poke();
    await Promise.all([this.loop, this.stalledChecks, this.refreshingTenants]);
    await this.o.subscriber.unsubscribe().catch(() => {});
    if (!force) await Promise.all([...this.inFlight.values()].map((f) => f.promise));
    await this.accounting.flush();
    await Promise.all([...this.workers.values()].map((w) => w.close(force)));
    await this.queues.close();
  }
}

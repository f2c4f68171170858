// The preemption round: once a second, on the scheduler replica that holds the dispatch
// lease, a snapshot of the live workers' running jobs, the queued work and the tenant table
// goes to the pure policy (policy/preemption.ts); its decisions become requests in Redis
// (state/preemptions.ts) that the victims' workers carry out. The snapshot is the global view
// of running jobs that no worker has (docs/design/dispatch.md).
import type { Redis } from 'ioredis';
import type { Logger } from '../shared/logger.ts';
import { planDispatch, type TenantLoad } from './policy/fair-share.ts';
import { matches } from './policy/matching.ts';
import {
  planPreemptions,
  type PreemptionDecision,
  type QueuedDemand,
  type RunningSlot,
  type TenantRules,
} from './policy/preemption.ts';
import { bullPriority } from './queue/job-store.ts';
import { TenantQueues, type QueueInfo } from './queue/tenant-queues.ts';
import type { Keys } from './state/keys.ts';
import { runningUsage } from './state/running-usage.ts';
import { PreemptionLedger, type PreemptionRequest } from './state/preemptions.ts';
import type { TenantStore } from './state/tenants.ts';
import type { UsageLedger } from './state/usage.ts';
import type { WorkerRecord, WorkerRegistry } from './state/workers.ts';
import type { SchedulerMetrics } from './metrics.ts';

export interface PreemptorSettings {
  enabled: boolean;
  minRuntimeSeconds: number;
  /** Rule 7's run time (policy/preemption.ts; its default when absent). */
  roundingMinRuntimeSeconds?: number;
  graceSeconds: number;
}

export interface PreemptorDeps {
  redis: Redis;
  keys: Keys;
  queues: TenantQueues;
  tenants: TenantStore;
  workers: WorkerRegistry;
  usage: UsageLedger;
  ledger: PreemptionLedger;
  metrics: SchedulerMetrics;
  log: Logger;
  settings: PreemptorSettings;
}

/** A request is sent again this often while its job still runs (a worker may have missed it). */
const RESEND_MS = 5000;
/** A request whose job no live worker reports for this long is dropped (it ended, or was requeued). */
const GONE_MS = 3000;

export class Preemptor {
  private readonly lastSent = new Map<string, number>();
  /** Decisions of the last hour, per job: the thrash gauge. */
  private readonly recent = new Map<string, number[]>();
  /** Since when a tenant has had queued work and no job running (for the starved-wait histogram). */
  private readonly starvedSince = new Map<string, number>();

  constructor(private readonly d: PreemptorDeps) {}

  /** One round: snapshot, plan, request. Returns the new decisions. */
  async round(now = Date.now()): Promise<PreemptionDecision[]> {
    const { d } = this;
    const [live, all, indexed, tenantList, usage, pending] = await Promise.all([
      d.workers.live(now),
      d.queues.list(),
      d.queues.active.members(),
      d.tenants.list(),
      d.usage.snapshot(now),
      d.ledger.all(),
    ]);
    // Only queues that may hold work (the active-queue index): idle tenants cost nothing.
    const active = new Set(indexed);
    const queues = all.filter((q) => active.has(q.name));
    const counts = await d.queues.counts(queues);
    const running = runningSlots(live);
    this.observeStarvation(now, queues, counts, running);
    const inFlight = await this.settle(now, pending, running);
    d.metrics.preemptionsInProgress.set(inFlight.length);
    this.updateThrashGauge(now);
    if (!d.settings.enabled) return [];

    const withWork = queues.filter((q) => (counts.get(q.name)?.queued ?? 0) > 0);
    const top = await this.topPriorities(withWork);
    const demands: QueuedDemand[] = withWork.map((q) => ({
      tenant: q.tenant,
      queued: counts.get(q.name)!.queued,
      topPriority: top.get(q.name) ?? 0,
      workers: live.filter((w) => matches(q.requirements, w.caps)).map((w) => w.id),
    }));
    if (demands.length === 0) return [];

    const tenants = new Map<string, TenantRules>(
      tenantList.map((t) => [
        t.name,
        {
          name: t.name,
          weight: t.weight,
          maxRunning: t.maxRunning,
          preemptible: t.preemption.preemptible,
          minRuntimeSeconds: t.preemption.minRuntimeSeconds,
          withinTenant: t.preemption.withinTenant,
          guaranteedShare: t.preemption.guaranteedShare,
        },
      ]),
    );
    // The starved tenants are served in dispatch order: the same keys as fair-share dispatch.
    const accruing = runningUsage(live, now, d.usage.halfLifeSeconds);
    const loads: TenantLoad[] = tenantList.map((t) => ({
      name: t.name,
      weight: t.weight,
      maxRunning: t.maxRunning,
      usage: usage.usage.get(t.name) ?? 0,
      runningUsage: accruing.get(t.name) ?? 0,
      running: running.filter((j) => j.tenant === t.name).length,
      queued: demands.filter((x) => x.tenant === t.name).reduce((s, x) => s + x.queued, 0),
    }));
    const decisions = planPreemptions({
      now,
      settings: {
        enabled: true,
        minRuntimeSeconds: d.settings.minRuntimeSeconds,
        roundingMinRuntimeSeconds: d.settings.roundingMinRuntimeSeconds,
      },
      tenants,
      workers: live.map((w) => ({ id: w.id, concurrency: w.concurrency, running: w.running.length })),
      running,
      demands,
      inFlight: inFlight.map((r) => ({ job: r.job, forTenant: r.forTenant })),
      dispatchOrder: planDispatch(loads, Math.max(usage.meanJobSeconds, 1e-3)).order.map((t) => t.name),
    });
    if (decisions.length === 0) return [];
    const requests: PreemptionRequest[] = decisions.map((x) => ({
      job: x.victim.job,
      tenant: x.victim.tenant,
      worker: x.victim.worker,
      forTenant: x.forTenant,
      reason: x.reason,
      requestedAt: now,
      graceSeconds: d.settings.graceSeconds,
      share: x.share,
      target: x.target,
    }));
    await d.ledger.request(requests);
    for (const r of requests) {
      this.lastSent.set(r.job, now);
      this.recent.set(r.job, [...(this.recent.get(r.job) ?? []), now]);
      d.log.info(
        { job: r.job, tenant: r.tenant, worker: r.worker, forTenant: r.forTenant, reason: r.reason },
        `preempting ${r.job} of ${r.tenant} for ${r.forTenant} ` +
          `(share ${pct(r.share)} of a ${pct(r.target)} target)`,
      );
    }
    this.updateThrashGauge(now);
    return decisions;
  }

  /**
   * Pending requests: those whose attempt no live worker runs any more are done (the worker
   * requeued the job, or it ended first) and are dropped, once the heartbeats have had time to
   * say so; those still running are sent again now and then. Returns those: the only place
   * requests are removed, so a round never sees a victim running without its request.
   */
  private async settle(now: number, pending: PreemptionRequest[], running: RunningSlot[]) {
    // The attempt the request was made for, on the request's worker: a job requeued and started
    // again (elsewhere, or on the same worker) is a new attempt.
    const started = new Map(running.map((j) => [`${j.worker}|${j.job}`, j.startedAt]));
    const here = (r: PreemptionRequest) => (started.get(`${r.worker}|${r.job}`) ?? Infinity) <= r.requestedAt;
    const gone = pending.filter((r) => !here(r) && now - r.requestedAt > GONE_MS);
    await this.d.ledger.clear(gone.map((r) => r.job));
    for (const r of gone) this.lastSent.delete(r.job);
    // Only a victim still in its slot counts: once it has left, its slot is free (or already
    // the preemptor's), and the request waits out GONE_MS only in case a heartbeat lagged.
    const inFlight = pending.filter(here);
    const again = inFlight.filter((r) => now - (this.lastSent.get(r.job) ?? 0) > RESEND_MS);
    await this.d.ledger.resend(again.map((r) => r.job));
    for (const r of again) this.lastSent.set(r.job, now);
    return inFlight;
  }

  /** The highest usine priority queued in each prioritized queue (its BullMQ zset's head). */
  private async topPriorities(queues: QueueInfo[]): Promise<Map<string, number>> {
    const prioritized = queues.filter((q) => q.prioritized);
    const out = new Map<string, number>();
    if (prioritized.length === 0) return out;
    const pipe = this.d.redis.pipeline();
    for (const q of prioritized) pipe.zrange(`${this.d.keys.prefix}:${q.name}:prioritized`, 0, 0, 'WITHSCORES');
    const res = (await pipe.exec()) ?? [];
    prioritized.forEach((q, i) => {
      const [, score] = (res[i]?.[1] as string[] | undefined) ?? [];
      // BullMQ's score is priority · 2³² + a counter; usine's priority is 1001 − BullMQ's.
      if (score !== undefined) out.set(q.name, bullPriority(Math.floor(Number(score) / 2 ** 32)));
    });
    return out;
  }

  private observeStarvation(
    now: number,
    queues: QueueInfo[],
    counts: Map<string, { queued: number; running: number }>,
    running: RunningSlot[],
  ): void {
    const queued = new Set(queues.filter((q) => (counts.get(q.name)?.queued ?? 0) > 0).map((q) => q.tenant));
    const runs = new Set(running.map((j) => j.tenant));
    for (const [tenant, since] of this.starvedSince) {
      if (runs.has(tenant)) this.d.metrics.starvedWait.observe({ tenant }, (now - since) / 1000);
      if (runs.has(tenant) || !queued.has(tenant)) this.starvedSince.delete(tenant);
    }
    for (const t of queued) if (!runs.has(t) && !this.starvedSince.has(t)) this.starvedSince.set(t, now);
  }

  private updateThrashGauge(now: number): void {
    let max = 0;
    for (const [job, times] of this.recent) {
      const kept = times.filter((t) => now - t < 3600_000);
      if (kept.length) this.recent.set(job, kept);
      else this.recent.delete(job);
      max = Math.max(max, kept.length);
    }
    this.d.metrics.preemptionsPerJobMax.set(max);
  }
}

/** The running jobs the live workers report (workers too old to report them contribute none). */
export function runningSlots(live: WorkerRecord[]): RunningSlot[] {
  return live.flatMap((w) =>
    (w.jobs ?? []).map((j) => ({
      job: j.id,
      tenant: j.tenant,
      worker: w.id,
      priority: j.priority,
      preemptible: j.preemptible,
      startedAt: j.startedAt,
      checkpointAt: j.checkpointAt,
      preemptions: j.preemptions ?? 0,
    })),
  );
}

const pct = (x: number) => `${Math.round(100 * x)} %`;

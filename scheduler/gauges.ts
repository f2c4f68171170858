// Gauges of global state (tenants' queues and usage, live workers): the same for every
// scheduler replica, so only the dispatch lease holder exports them (scheduler/leader.ts) and
// the others export none. `sum()` over replicas is then right, as it is for the counters,
// which each replica counts for its own share of the job events.
import type { SchedulerContext } from './context.ts';
import type { LeaderDuty } from './leader.ts';
import { tenantStandings } from './tenant-standing.ts';

export async function refreshGauges(ctx: SchedulerContext): Promise<void> {
  const { workers, metrics } = ctx;
  const [standings, live] = await Promise.all([tenantStandings(ctx), workers.live()]);
  for (const l of standings) {
    metrics.zeroTenant(l.name);
    metrics.tenantJobs.set({ tenant: l.name, state: 'queued' }, l.queued);
    metrics.tenantJobs.set({ tenant: l.name, state: 'running' }, l.running);
    metrics.usage.set({ tenant: l.name }, l.usage);
    metrics.weightShare.set({ tenant: l.name }, l.targetShare);
    metrics.usageShare.set({ tenant: l.name }, l.usageShare);
  }
  for (const { tenant: t } of standings) {
    metrics.tenantQuota.set({ tenant: t.name, kind: 'max_queued' }, t.maxQueued);
    metrics.tenantQuota.set({ tenant: t.name, kind: 'max_running' }, t.maxRunning);
  }
  metrics.workersOnline.reset();
  for (const w of live) {
    const { vendor, architecture, device, backend } = w.caps;
    metrics.workersOnline.inc({ vendor, architecture, device, backend });
  }
  const busy = live.reduce((s, w) => s + w.running.length, 0);
  const slots = live.reduce((s, w) => s + w.concurrency, 0);
  metrics.workerSlots.set({ state: 'busy' }, busy);
  metrics.workerSlots.set({ state: 'free' }, Math.max(0, slots - busy));
}

/** The gauges as a duty of the lease holder: refreshed every 2 s, withdrawn when the lease goes. */
export function gaugesDuty(ctx: SchedulerContext): LeaderDuty {
  return {
    name: 'gauges',
    everyMs: 2000,
    run: () => refreshGauges(ctx),
    onLose: () => ctx.metrics.withdrawGlobalGauges(),
  };
}

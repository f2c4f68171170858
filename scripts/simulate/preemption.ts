// The simulator's preemption hook: the real policy (scheduler/policy/preemption.ts) on the
// simulated centre, seen as one pool of identical devices (one worker of D slots), every
// job preemptible, every tenant with the installation's minimum run time.
import { planDispatch } from '../../scheduler/policy/fair-share.ts';
import { planPreemptions, type TenantRules } from '../../scheduler/policy/preemption.ts';
import type { PreemptionHook, RunningJob } from './core.ts';

/** Wall time of each planPreemptions call (ms), for the report. */
export const preemptionPlanMs: number[] = [];

export function policyHook(o: {
  devices: number;
  minRuntimeSeconds: number;
  /** Rule 7 of the policy (its default when absent). */
  roundingMinRuntimeSeconds?: number;
  names: string[];
}): PreemptionHook {
  const index = new Map(o.names.map((n, i) => [n, i]));
  return (now, running, loads, meanJobSeconds) => {
    const tenants = new Map<string, TenantRules>(
      loads.map((l) => [
        l.name,
        {
          name: l.name,
          weight: l.weight,
          maxRunning: Infinity,
          preemptible: true,
          withinTenant: false,
          guaranteedShare: 0,
        },
      ]),
    );
    const byId = new Map<string, RunningJob>();
    const slots = running.map((r, k) => {
      byId.set(String(k), r);
      return {
        job: String(k),
        tenant: o.names[r.tenant],
        worker: 'pool',
        priority: 0,
        preemptible: true,
        startedAt: r.started * 1000,
        checkpointAt: null,
        preemptions: r.preempted ?? 0,
      };
    });
    // As scheduler/preemptor.ts: starved tenants are served in dispatch order.
    const dispatchOrder = planDispatch([...loads], meanJobSeconds).order.map((t) => t.name);
    const t0 = performance.now();
    const decisions = planPreemptions({
      now: now * 1000,
      settings: {
        enabled: true,
        minRuntimeSeconds: o.minRuntimeSeconds,
        roundingMinRuntimeSeconds: o.roundingMinRuntimeSeconds,
      },
      tenants,
      workers: [{ id: 'pool', concurrency: o.devices, running: running.length }],
      running: slots,
      demands: loads
        .filter((l) => l.queued > 0)
        .map((l) => ({ tenant: l.name, queued: l.queued, topPriority: 0, workers: ['pool'] })),
      inFlight: [],
      dispatchOrder,
    });
    preemptionPlanMs.push(performance.now() - t0);
    return decisions.map((d) => ({ victim: byId.get(d.victim.job)!, forTenant: index.get(d.forTenant)! }));
  };
}

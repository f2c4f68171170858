// Admission: whether a tenant's job may enter the queues, and which queue it enters.
// Refusals carry the reason; the fair-share policy only ever sees admitted jobs.
import type { JobSpec } from '../shared/job-spec.ts';
import { ApiError } from './api-error.ts';
import { effectiveRequirements, requirementClass, admissionProblem, mismatch, type DeviceCaps } from './policy/matching.ts';
import type { Tenant } from './state/tenants.ts';
import type { WorkerRegistry } from './state/workers.ts';
import { queueName, perTenant, type QueueInfo, type TenantQueues } from './queue/tenant-queues.ts';

export type RefusalReason = 'invalid_spec' | 'quota_queued' | 'quota_running' | 'no_matching_worker_class' | 'too_large' | 'unauthorized' | 'forbidden';
export const REFUSAL_REASONS: RefusalReason[] = ['invalid_spec', 'quota_queued', 'quota_running', 'no_matching_worker_class', 'too_large', 'unauthorized', 'forbidden'];

export class Refusal extends ApiError {
  constructor(
    status: number,
    readonly reason: RefusalReason,
    message: string,
    details?: unknown,
  ) {
    super(status, reason, message, details);
  }
}

export class Admission {
  constructor(
    private readonly queues: TenantQueues,
    private readonly workers: WorkerRegistry,
    /** Device classes declared in the tenants file (beyond those seen live). */
    private readonly declaredClasses: DeviceCaps[],
  ) {}

  private async deviceClasses(): Promise<DeviceCaps[]> {
    return [...this.declaredClasses, ...(await this.workers.classes())];
  }

  /** The queue of each job, or a Refusal for the first job that may not enter. */
  async admit(tenant: Tenant, specs: JobSpec[]): Promise<QueueInfo[]> {
    const classes = await this.deviceClasses();
    const out: QueueInfo[] = [];
    for (const [i, spec] of specs.entries()) {
      const at = specs.length > 1 ? `jobs[${i}]: ` : '';
      const req = effectiveRequirements(spec.requirements, tenant);
      if (typeof req === 'string') throw new Refusal(422, 'no_matching_worker_class', at + req);
      // With no worker ever seen there is nothing to judge against: the job waits.
      if (classes.length > 0) {
        const problem = admissionProblem(spec, req, classes);
        if (problem) throw new Refusal(422, problem.startsWith('job too large') ? 'too_large' : 'no_matching_worker_class', at + problem);
      }
      const cls = requirementClass(req);
      out.push({ name: queueName(tenant.name, cls), tenant: tenant.name, cls, requirements: req });
    }
    const all = (await this.queues.list()).filter((q) => q.tenant === tenant.name);
    const queued = perTenant(all, await this.queues.counts(all)).get(tenant.name)?.queued ?? 0;
    if (queued + specs.length > tenant.maxQueued) {
      throw new Refusal(429, 'quota_queued', `tenant ${tenant.name} may have at most ${tenant.maxQueued} queued jobs; it has ${queued} and this request adds ${specs.length}`);
    }
    if (tenant.maxRunning === 0) throw new Refusal(429, 'quota_running', `tenant ${tenant.name} may run no jobs (maxRunning 0)`);
    return out;
  }

  /** Why a queued job waits, in words. */
  async whyWaiting(queue: QueueInfo, tenant: Tenant | null): Promise<string> {
    const live = await this.workers.live();
    const able = live.filter((w) => !mismatch(queue.requirements, w.caps));
    if (able.length === 0) {
      const need = JSON.stringify(queue.requirements);
      return live.length === 0 ? 'no worker is online' : `no online worker matches its requirements ${need} (${live.length} online)`;
    }
    if (tenant) {
      const mine = (await this.queues.list()).filter((q) => q.tenant === tenant.name);
      const running = perTenant(mine, await this.queues.counts(mine)).get(tenant.name)?.running ?? 0;
      if (running >= tenant.maxRunning) return `tenant ${tenant.name} runs ${running} jobs, its maxRunning`;
    }
    const busy = able.every((w) => w.running.length >= w.concurrency);
    return busy ? `all ${able.length} matching workers are busy; its turn comes by fair share and priority` : 'a matching worker is free; it should start shortly';
  }
}

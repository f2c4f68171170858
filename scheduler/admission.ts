// Admission: whether a tenant's job may enter the queues, and which queue it enters.
// Refusals carry the reason; the fair-share policy only ever sees admitted jobs.
import type { PreemptionLedger } from './state/preemptions.ts';
import type { JobSpec } from '../shared/job-spec.ts';
import type { ArtifactStore } from '../shared/artifact-store.ts';
import { trainJobProblems, inferJobProblems } from '../shared/train/job-params.ts';
import { decodeCheckpoint } from '../shared/train/checkpoint.ts';
import { Vocabulary } from '../shared/train/vocabulary.ts';
import type { JobStore } from './queue/job-store.ts';
import { ApiError } from './api-error.ts';
import {
  effectiveRequirements,
  requirementClass,
  admissionProblem,
  mismatch,
  matches,
  type DeviceCaps,
} from './policy/matching.ts';
import type { Tenant } from './state/tenants.ts';
import type { WorkerRegistry } from './state/workers.ts';
import { queueName, perTenant, type QueueInfo, type TenantQueues } from './queue/tenant-queues.ts';

export type RefusalReason =
  | 'invalid_spec'
  | 'quota_queued'
  | 'quota_running'
  | 'no_matching_worker_class'
  | 'too_large'
  | 'unauthorized'
  | 'forbidden';
export const REFUSAL_REASONS: RefusalReason[] = [
  'invalid_spec',
  'quota_queued',
  'quota_running',
  'no_matching_worker_class',
  'too_large',
  'unauthorized',
  'forbidden',
];

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
    private readonly jobs: JobStore,
    private readonly artifacts: ArtifactStore,
    /** Preemption requests in progress: a job whose tenant one frees a slot for says so. */
    private readonly preemptions?: PreemptionLedger,
  ) {}

  /** Problems of a train/infer spec or of its references (artifacts, jobs), checked before it is queued. */
  private async specProblems(
    tenant: Tenant,
    spec: JobSpec,
    candidates: DeviceCaps[],
  ): Promise<{ status: number; reason: RefusalReason; message: string } | null> {
    const bad = (message: string) => ({ status: 400, reason: 'invalid_spec' as const, message });
    if (spec.dependsOn) {
      const dep = await this.jobs.get(spec.dependsOn);
      if (!dep || dep.tenant !== tenant.name) return bad(`dependsOn: no job ${spec.dependsOn}`);
    }
    if (spec.type === 'train') {
      const problems = trainJobProblems(spec.params);
      if (problems.length) return bad(`params: ${problems.join('; ')}`);
      if (spec.params.data.source === 'text') {
        const meta = await this.artifacts.meta(spec.params.data.artifact);
        if (!meta || meta.tenant !== tenant.name)
          return bad(
            `params.data.artifact: no artifact ${spec.params.data.artifact} (upload the text first: usine upload FILE)`,
          );
      }
      if (candidates.length > 0) {
        const fits = candidates.map((d) =>
          trainJobProblems(spec.params, {
            maxStorageBufferBindingSize: d.limits.maxStorageBufferBindingSize ?? Infinity,
            maxBufferSize: d.limits.maxBufferSize ?? Infinity,
          }),
        );
        if (fits.every((f) => f.length > 0))
          return {
            status: 422,
            reason: 'too_large',
            message: `the model does not fit any matching device: ${fits[0].join('; ')}`,
          };
      }
    }
    if (spec.type === 'infer') {
      const c = spec.params.checkpoint;
      if ('job' in c) {
        const train = await this.jobs.get(c.job);
        if (!train || train.tenant !== tenant.name) return bad(`params.checkpoint.job: no job ${c.job}`);
        if (train.type !== 'train')
          return bad(`params.checkpoint.job: job ${c.job} is a ${train.type} job, not a train job`);
      } else {
        const meta = await this.artifacts.meta(c.artifact);
        if (!meta || meta.tenant !== tenant.name || meta.kind !== 'checkpoint')
          return bad(`params.checkpoint.artifact: no checkpoint artifact ${c.artifact}`);
        try {
          const ckpt = decodeCheckpoint(await this.artifacts.read(c.artifact));
          const vocab = new Vocabulary(JSON.parse(ckpt.extra?.vocabulary ?? '[]') as string[]);
          const problems = inferJobProblems(spec.params, ckpt.config, (t) => vocab.encode(t));
          if (problems.length) return bad(`params: ${problems.join('; ')}`);
        } catch (e) {
          return bad(`params.checkpoint.artifact: ${(e as Error).message}`);
        }
      }
    }
    return null;
  }

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
        if (problem) throw new Refusal(422, problem.reason, at + problem.message);
      }
      const specProblem = await this.specProblems(
        tenant,
        spec,
        classes.filter((d) => matches(req, d)),
      );
      if (specProblem) throw new Refusal(specProblem.status, specProblem.reason, at + specProblem.message);
      const cls = requirementClass(req);
      const prioritized = spec.priority > 0;
      out.push({
        name: queueName(tenant.name, cls, prioritized),
        tenant: tenant.name,
        cls,
        requirements: req,
        prioritized,
      });
    }
    const all = (await this.queues.list()).filter((q) => q.tenant === tenant.name);
    const queued = perTenant(all, await this.queues.counts(all)).get(tenant.name)?.queued ?? 0;
    if (queued + specs.length > tenant.maxQueued) {
      throw new Refusal(
        429,
        'quota_queued',
        `tenant ${tenant.name} may have at most ${tenant.maxQueued} queued jobs; it has ${queued} and this request adds ${specs.length}`,
      );
    }
    if (tenant.maxRunning === 0)
      throw new Refusal(429, 'quota_running', `tenant ${tenant.name} may run no jobs (maxRunning 0)`);
    return out;
  }

  /** Why a queued job waits, in words. */
  async whyWaiting(queue: QueueInfo, tenant: Tenant | null): Promise<string> {
    const live = await this.workers.live();
    const able = live.filter((w) => !mismatch(queue.requirements, w.caps));
    if (able.length === 0) {
      const need = JSON.stringify(queue.requirements);
      return live.length === 0
        ? 'no worker is online'
        : `no online worker matches its requirements ${need} (${live.length} online)`;
    }
    if (tenant) {
      const mine = (await this.queues.list()).filter((q) => q.tenant === tenant.name);
      const running = perTenant(mine, await this.queues.counts(mine)).get(tenant.name)?.running ?? 0;
      if (running >= tenant.maxRunning) return `tenant ${tenant.name} runs ${running} jobs, its maxRunning`;
    }
    const busy = able.every((w) => w.running.length >= w.concurrency);
    if (busy && tenant && this.preemptions) {
      const freeing = (await this.preemptions.all()).filter((r) => r.forTenant === tenant.name);
      if (freeing.length) {
        const r = freeing[0];
        return (
          `a slot is being freed for tenant ${tenant.name}: job ${r.job} of tenant ${r.tenant} is being preempted ` +
          `on worker ${able.find((w) => w.id === r.worker)?.name ?? r.worker} (within ${r.graceSeconds} s)` +
          (freeing.length > 1 ? `, and ${freeing.length - 1} more` : '')
        );
      }
    }
    return busy
      ? `all ${able.length} matching workers are busy; its turn comes by fair share and priority`
      : 'a matching worker is free; it should start shortly';
  }
}

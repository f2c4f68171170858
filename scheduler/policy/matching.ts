// Which devices a job may run on. Pure functions: no Redis, no BullMQ.
import { createHash } from 'node:crypto';
import type { JobSpec, Requirements } from '../../shared/job-spec.ts';
import type { DeviceCaps } from '../../shared/worker-view.ts';

/** What a worker offers, as it registers and heartbeats (its schema is in shared/worker-view.ts). */
export type { DeviceCaps } from '../../shared/worker-view.ts';

export interface TenantScope {
  regions: string[];
  vendors: string[];
}

/** Narrows a list by a tenant's allowance (empty = anything). Null when nothing is left. */
function narrow(job: string[], allowed: string[]): string[] | null {
  if (allowed.length === 0) return job;
  if (job.length === 0) return allowed;
  const both = job.filter((x) => allowed.includes(x));
  return both.length > 0 ? both : null;
}

/** The job's requirements within its tenant's allowed regions and vendors, or a reason it can never run. */
export function effectiveRequirements(req: Requirements, tenant: TenantScope): Requirements | string {
  const regions = narrow(req.regions, tenant.regions);
  if (!regions)
    return `requested regions [${req.regions}] are outside the tenant's allowed regions [${tenant.regions}]`;
  const vendors = narrow(
    req.vendors.map((v) => v.toLowerCase()),
    tenant.vendors.map((v) => v.toLowerCase()),
  );
  if (!vendors)
    return `requested vendors [${req.vendors}] are outside the tenant's allowed vendors [${tenant.vendors}]`;
  return {
    features: [...new Set(req.features)].sort(),
    minLimits: Object.fromEntries(Object.entries(req.minLimits).sort(([a], [b]) => a.localeCompare(b))),
    regions: [...regions].sort(),
    vendors: [...vendors].sort(),
  };
}

/** Why `caps` cannot run a job with `req`, or null when it can. */
export function mismatch(req: Requirements, caps: DeviceCaps): string | null {
  const missing = req.features.filter((f) => !caps.features.includes(f));
  if (missing.length) return `lacks features ${missing.join(', ')}`;
  for (const [limit, min] of Object.entries(req.minLimits)) {
    if (!((caps.limits[limit] ?? 0) >= min)) return `${limit} ${caps.limits[limit] ?? 'unknown'} < ${min}`;
  }
  if (req.regions.length && !req.regions.includes(caps.region)) return `region ${caps.region} not in [${req.regions}]`;
  if (req.vendors.length && !req.vendors.includes(caps.vendor.toLowerCase()))
    return `vendor ${caps.vendor} not in [${req.vendors}]`;
  return null;
}

export const matches = (req: Requirements, caps: DeviceCaps) => mismatch(req, caps) === null;

/**
 * A short stable id for a set of (effective) requirements: jobs with the same
 * requirements share a queue per tenant, so a worker only fetches from queues it can serve.
 */
export function requirementClass(req: Requirements): string {
  const empty =
    !req.features.length && !Object.keys(req.minLimits).length && !req.regions.length && !req.vendors.length;
  if (empty) return 'any';
  return createHash('sha256').update(JSON.stringify(req)).digest('hex').slice(0, 12);
}

/** The device limits a job's own size needs (checked at admission against the matching devices). */
export function sizeNeeds(spec: JobSpec): Record<string, number> {
  switch (spec.type) {
    case 'matmul': {
      const { m, n, k } = spec.params;
      const largest = Math.max(m * k, k * n, m * n) * 4;
      return { maxStorageBufferBindingSize: largest, maxBufferSize: largest };
    }
    case 'noop':
    case 'train': // fitted against the matching devices by the train job's own checks
    case 'infer':
      return {};
  }
}

/** Why no device in `devices` could run the job: no device matches, or none is large enough. */
export interface AdmissionProblem {
  reason: 'no_matching_worker_class' | 'too_large';
  message: string;
}

/** Why no device in `devices` could run the job, or null when one can. */
export function admissionProblem(spec: JobSpec, req: Requirements, devices: DeviceCaps[]): AdmissionProblem | null {
  const candidates = devices.filter((d) => matches(req, d));
  if (candidates.length === 0) {
    const why = devices.map((d) => `${d.device} in ${d.region}: ${mismatch(req, d)}`).join('; ');
    return { reason: 'no_matching_worker_class', message: `no configured worker class can run this job (${why})` };
  }
  const needs = sizeNeeds(spec);
  const fits = candidates.some((d) => Object.entries(needs).every(([l, v]) => (d.limits[l] ?? Infinity) >= v));
  if (!fits) {
    const need = Object.entries(needs)
      .map(([l, v]) => `${l} ≥ ${v}`)
      .join(', ');
    const largest = Math.max(...candidates.map((d) => d.limits.maxStorageBufferBindingSize ?? 0));
    return {
      reason: 'too_large',
      message: `job too large for every matching device: it needs ${need}; largest maxStorageBufferBindingSize is ${largest}`,
    };
  }
  return null;
}

// The usine scheduler daemon: HTTP API, admission, tenants; job queues in Redis/BullMQ.
import { loadConfig, schedulerEnv, ConfigError } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { connectRedis } from '../shared/redis.ts';
import { Admission } from './admission.ts';
import { SchedulerMetrics } from './metrics.ts';
import { shares, type TenantLoad } from './policy/fair-share.ts';
import { JobStore } from './queue/job-store.ts';
import { TenantQueues, perTenant } from './queue/tenant-queues.ts';
import { buildServer } from './server.ts';
import { followEvents } from './state/job-events.ts';
import { Keys } from './state/keys.ts';
import { TenantStore, readTenantsFile, hashToken, DEFAULT_TENANT } from './state/tenants.ts';
import { UsageLedger } from './state/usage.ts';
import { WorkerRegistry } from './state/workers.ts';
import { ArtifactStore } from '../shared/artifact-store.ts';

let cfg;
let file;
try {
  cfg = loadConfig(schedulerEnv);
  file = cfg.USINE_TENANTS_FILE ? readTenantsFile(cfg.USINE_TENANTS_FILE) : null;
} catch (e) {
  console.error(`usine scheduler: ${(e as Error).message}`);
  process.exit(e instanceof ConfigError ? 2 : 1);
}
const log = createLogger('scheduler', cfg.LOG_LEVEL);
const redis = connectRedis(cfg.REDIS_URL);
redis.on('error', (err) => log.error({ err: err.message }, 'redis error'));
const keys = new Keys(cfg.USINE_QUEUE_PREFIX);

const adminHashes = [...(file?.adminTokenSha256 ?? []), ...(cfg.USINE_ADMIN_TOKEN ? [hashToken(cfg.USINE_ADMIN_TOKEN)] : [])];
const openMode = !file && adminHashes.length === 0;
const tenants = new TenantStore(redis, keys, adminHashes);
if (file) await tenants.seed(file.tenants);
if (openMode) {
  if (!(await tenants.get('default'))) await tenants.put(DEFAULT_TENANT);
  log.warn('OPEN MODE: no USINE_TENANTS_FILE and no USINE_ADMIN_TOKEN — every request acts as tenant "default" with admin rights, without a token. For local development only.');
}

const queues = new TenantQueues(redis, keys, cfg.USINE_QUEUE_PREFIX);
const workers = new WorkerRegistry(redis, keys, cfg.USINE_WORKER_TIMEOUT_SECONDS * 1000);
const usage = new UsageLedger(redis, keys, cfg.USINE_FAIR_SHARE_HALF_LIFE_SECONDS);
const store = new JobStore(redis, keys, queues, cfg.USINE_RETENTION_SECONDS);
const artifacts = new ArtifactStore(cfg.USINE_ARTIFACT_DIR);
const admission = new Admission(queues, workers, file?.workerClasses ?? [], store, artifacts);
const metrics = new SchedulerMetrics((await tenants.list()).map((t) => t.name));

// Counters and histograms come from the workers' job events…
const stopEvents = new AbortController();
const eventsConn = connectRedis(cfg.REDIS_URL);
const following = followEvents(eventsConn, keys, (batch) => metrics.observeAll(batch), stopEvents.signal).catch((err) => log.error({ err }, 'job events stopped'));

// …and the gauges from a periodic look at the queues, usage and workers.
async function refreshGauges(): Promise<void> {
  const [list, all, snap, live] = await Promise.all([tenants.list(), queues.list(), usage.snapshot(), workers.live()]);
  const counts = perTenant(all, await queues.counts(all));
  const loads: TenantLoad[] = list.map((t) => ({
    name: t.name,
    weight: t.weight,
    maxRunning: t.maxRunning,
    usage: snap.usage.get(t.name) ?? 0,
    queued: counts.get(t.name)?.queued ?? 0,
    running: counts.get(t.name)?.running ?? 0,
  }));
  const share = shares(loads);
  for (const l of loads) {
    metrics.zeroTenant(l.name);
    metrics.tenantJobs.set({ tenant: l.name, state: 'queued' }, l.queued);
    metrics.tenantJobs.set({ tenant: l.name, state: 'running' }, l.running);
    metrics.usage.set({ tenant: l.name }, l.usage);
    metrics.weightShare.set({ tenant: l.name }, share.get(l.name)!.weightShare);
    metrics.usageShare.set({ tenant: l.name }, share.get(l.name)!.usageShare);
  }
  for (const t of list) {
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
// Jobs held for a dependency (dependsOn, an infer job's train job) are released or failed here.
const dependants = setInterval(
  () =>
    void store
      .releaseDependants()
      .then((r) => (r.released || r.failed) && log.info(r, 'dependants released or failed'))
      .catch((err) => log.warn({ err: err.message }, 'dependants not checked')),
  1000,
);
const gauges = setInterval(() => void refreshGauges().catch((err) => log.warn({ err: err.message }, 'gauges not refreshed')), 2000);
await refreshGauges();

const app = buildServer({ redis, keys, queues, store, tenants, workers, usage, admission, metrics, openMode, artifacts }, log, cfg.USINE_BODY_LIMIT_BYTES, cfg.USINE_UPLOAD_LIMIT_BYTES);
await app.listen({ host: cfg.USINE_HOST, port: cfg.USINE_PORT });
const base = `http://${cfg.USINE_HOST}:${cfg.USINE_PORT}`;
log.info({ api: `${base}/v1/jobs`, metrics: `${base}/metrics`, redis: cfg.REDIS_URL, tenants: (await tenants.list()).length }, `scheduler listening on ${base}`);
// Out now, not with the next 4 KiB of lines: supervisors and tests wait for this one.
log.flush();

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) process.exit(130);
  stopping = true;
  log.info({ signal }, 'scheduler shutting down');
  clearInterval(gauges);
  clearInterval(dependants);
  await app.close();
  stopEvents.abort();
  eventsConn.disconnect();
  await following;
  await queues.close();
  await redis.quit().catch(() => {});
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

// The usine scheduler process: configuration from the environment, one scheduler
// (scheduler.ts), signals, exit codes. 2: bad configuration; 1: a bad tenants file.
import { loadConfig, schedulerEnv, ConfigError } from '../shared/config.ts';
import { stopOnSignals } from '../shared/signals.ts';
import { describeRedis, redisTarget } from '../shared/redis.ts';
import { createScheduler, type UsineScheduler } from './scheduler.ts';

let cfg;
let scheduler: UsineScheduler;
try {
  cfg = loadConfig(schedulerEnv);
  scheduler = createScheduler(cfg);
} catch (e) {
  console.error(`usine scheduler: ${(e as Error).message}`);
  process.exit(e instanceof ConfigError ? 2 : 1);
}
const log = scheduler.log;
// Before start(): a signal while it waits for Redis must stop the process cleanly too.
stopOnSignals(['SIGINT', 'SIGTERM'], {
  stop: async (signal) => {
    log.info({ signal }, 'scheduler shutting down');
    await scheduler.stop();
  },
  failed: (err) => log.error({ err }, 'shutdown failed'),
});

const { url, tenants } = await scheduler.start();
log.info(
  { api: `${url}/v1/jobs`, metrics: `${url}/metrics`, redis: describeRedis(redisTarget(cfg)), tenants },
  `scheduler listening on ${url}`,
);
if (tenants === null)
  log.error(
    { redis: describeRedis(redisTarget(cfg)) },
    'redis unreachable; the API answers 503 redis_unavailable (and /readyz 503) until it answers',
  );
// Out now, not with the next 4 KiB of lines: supervisors and tests wait for this one.
log.flush();

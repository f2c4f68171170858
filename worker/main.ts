// The usine worker process: configuration from the environment, one worker (worker.ts),
// signals, exit codes. 2: bad configuration; 3: the device was lost; 130: forced stop.
import { loadConfig, workerEnv, ConfigError, type WorkerConfig } from '../shared/config.ts';
import { stopOnSignals } from '../shared/signals.ts';
import { createWorker, DeviceLostError } from './worker.ts';

let cfg: WorkerConfig;
try {
  cfg = loadConfig(workerEnv);
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(`usine worker: ${e.message}`);
    process.exit(2);
  }
  throw e;
}

// After a device loss the worker exits once the grace period is over, so the supervisor restarts it.
const worker = createWorker(cfg, { onDeviceLost: () => process.exit(3) });
const log = worker.log;
// A device lost during start-up: the device-loss steps are under way and end with the exit.
const ready = await worker.start().catch((e: unknown) => {
  if (e instanceof DeviceLostError) return null;
  throw e;
});

if (ready) {
  const { label, adapter, region, powerWatts, powerSource, concurrency, metricsUrl } = ready;
  log.info({ adapter, region, powerWatts, powerSource, concurrency, metrics: metricsUrl }, `worker ready on ${label}`);
  // Out now, not with the next 4 KiB of lines: supervisors and tests wait for this one.
  log.flush();

  stopOnSignals(['SIGINT', 'SIGTERM'], {
    stop: async (signal) => {
      log.info({ signal }, 'shutting down: finishing running jobs (send the signal again to stop now)');
      await worker.stop();
      log.info('worker stopped');
    },
    // Second signal: stop now; the running jobs stall and BullMQ hands them to another worker.
    again: () => {
      log.warn('forced shutdown: running jobs will be retried elsewhere');
      process.exit(130);
    },
    failed: (err) => log.error({ err }, 'shutdown failed'),
  });
}

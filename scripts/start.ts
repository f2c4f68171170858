// `npm start`: Redis (started when none answers), the scheduler, and one worker per
// usable WebGPU adapter, all in the foreground. Ctrl-C (or closing the terminal) stops
// everything cleanly.
import { spawn, type ChildProcess } from 'node:child_process';
import { Command } from 'commander';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureRedis, type LocalRedis } from '../shared/redis-server.ts';
import { describeRedis, redisTarget } from '../shared/redis.ts';
import { loadConfig, schedulerEnv, workerEnv, ConfigError } from '../shared/config.ts';
import { listAdaptersQuietly } from '../kernels/adapter-list.ts';
import { pipeWithoutDawnLimitWarnings } from '../kernels/dawn-warnings.ts';
import { stopOnSignals } from '../shared/signals.ts';

new Command('npm start')
  .description(
    'Starts usine on this machine: Redis (when none answers at REDIS_URL), the scheduler, and one worker per ' +
      'usable WebGPU adapter, in the foreground. Ctrl-C stops them in order (workers finish their jobs).',
  )
  .addHelpText(
    'after',
    `
Configured by environment variables, among them:
  REDIS_URL                  Redis to use or start (default redis://127.0.0.1:6379)
  USINE_HOST, USINE_PORT     the API's address (default 127.0.0.1:8700)
  USINE_WORKER_METRICS_PORT  first worker's /metrics port (default 8701; the next worker +1)
  USINE_DATA_DIR             the started Redis's data and the matmul tunings (default data)
  USINE_ADAPTER              only adapters whose name contains this
  LOG_LEVEL                  fatal, error, warn, info (default), debug, trace`,
  )
  .parse();

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let sched, work;
try {
  sched = loadConfig(schedulerEnv);
  work = loadConfig(workerEnv);
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(`usine: ${e.message}`);
    process.exit(2);
  }
  throw e;
}

// Behind sentinels Redis is someone else's to run: no local one is started.
const target = redisTarget(sched);
const redis: LocalRedis = target.sentinels
  ? { url: sched.REDIS_URL, process: null, stop: async () => {} }
  : await ensureRedis(sched.REDIS_URL, path.join(sched.USINE_DATA_DIR, 'redis'));
console.log(
  redis.process
    ? `usine: started redis-server at ${describeRedis(redis.url)} (AOF in ${sched.USINE_DATA_DIR}/redis)`
    : `usine: using Redis at ${describeRedis(target)}`,
);

const adapters = (await listAdaptersQuietly()).filter(
  (a) => !work.USINE_ADAPTER || a.name.includes(work.USINE_ADAPTER),
);
if (adapters.length === 0) {
  console.error(
    'usine: no WebGPU adapter found; run `npx usine doctor` (the scheduler starts anyway, jobs will wait for a worker)',
  );
}

const children: ChildProcess[] = [];
function run(name: string, script: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, script)], {
    // stderr through a filter that drops Dawn's limit warnings (kernels/dawn-warnings.ts).
    stdio: ['ignore', 'inherit', 'pipe'],
    env: { ...process.env, ...env },
    // Own process group: Ctrl-C reaches only this script, which stops the children in order.
    detached: true,
  });
  pipeWithoutDawnLimitWarnings(child.stderr!);
  child.on('exit', (code, signal) => {
    if (!stopping) console.error(`usine: ${name} exited (${signal ?? code})`);
  });
  children.push(child);
  return child;
}

run('scheduler', 'scheduler/main.ts', {});
adapters.forEach((a, i) =>
  run(`worker ${i}`, 'worker/main.ts', {
    USINE_ADAPTER: a.name,
    USINE_BACKEND: a.backend,
    USINE_WORKER_METRICS_PORT: String(work.USINE_WORKER_METRICS_PORT + i),
  }),
);

const api = `http://${sched.USINE_HOST}:${sched.USINE_PORT}`;
console.log(`usine: API ${api}/v1/jobs, scheduler metrics ${api}/metrics`);
adapters.forEach((a, i) =>
  console.log(
    `usine: worker ${i} on ${a.name} (${a.backend}), metrics http://${work.USINE_WORKER_HOST}:${work.USINE_WORKER_METRICS_PORT + i}/metrics`,
  ),
);
console.log('usine: try `npx usine submit matmul --m 256 --n 256 --k 256 --wait` in another terminal; Ctrl-C stops');

let stopping = false;
async function stop() {
  stopping = true;
  console.log('usine: stopping (workers finish their jobs; Ctrl-C again to force)');
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) =>
          c.exitCode !== null || c.signalCode !== null
            ? resolve()
            : (c.once('exit', () => resolve()), c.kill('SIGTERM')),
        ),
    ),
  );
  await redis.stop();
  console.log('usine: stopped');
}
process.on('exit', () => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')));
// SIGHUP is a closed terminal: the children and Redis run in process groups of their own and
// do not get the hang-up, so without it the Redis started above would outlive us.
stopOnSignals(['SIGINT', 'SIGTERM', 'SIGHUP'], {
  stop,
  // Again: the workers stop at once (their jobs go back to the queue); Redis is still stopped.
  again: () => children.forEach((c) => c.kill('SIGKILL')),
  failed: (err) => console.error(`usine: stopping failed: ${err.message}`),
});

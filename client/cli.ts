// The `usine` command-line interface.
import { Command, InvalidArgumentError } from 'commander';
import cliProgress from 'cli-progress';
import { UsineClient, UsineApiError, type JobSpecInput } from './client.ts';
import { formatJob } from './format.ts';
import type { JobView } from '../shared/job-view.ts';

function int(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be an integer`);
    return n;
  };
}

const program = new Command('usine')
  .description('Submit and follow GPU jobs on a usine scheduler.')
  .option('--url <url>', 'scheduler URL (env USINE_URL)', process.env.USINE_URL ?? 'http://127.0.0.1:8700')
  .option('--token <token>', 'API token (env USINE_TOKEN)')
  .option('--json', 'print machine-readable JSON')
  .showHelpAfterError()
  .addHelpText(
    'after',
    `
Examples:
  $ usine submit matmul --m 256 --n 256 --k 256 --wait
  $ usine status 42
  $ usine wait 42
  $ usine doctor`,
  );

function client(): UsineClient {
  const o = program.opts();
  return new UsineClient({ url: o.url, token: o.token });
}
const json = () => Boolean(program.opts().json);
const print = (v: unknown, human: string) => console.log(json() ? JSON.stringify(v, null, 2) : human);

async function follow(id: string): Promise<JobView> {
  const c = client();
  const bar =
    process.stderr.isTTY && !json()
      ? new cliProgress.SingleBar({ format: '{bar} {percentage}% | {state} {message}', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic)
      : null;
  bar?.start(100, 0, { state: 'queued', message: '' });
  try {
    return await c.wait(id, {
      onUpdate: (v) => bar?.update(v.progress?.percent ?? (v.state === 'succeeded' ? 100 : 0), { state: v.state, message: v.progress?.message ?? '' }),
    });
  } finally {
    bar?.stop();
  }
}

function exitFor(v: JobView): void {
  if (v.state !== 'succeeded') process.exitCode = 1;
}

program
  .command('submit')
  .description('submit a job')
  .argument('<type>', 'job type: matmul')
  .option('--m <n>', 'rows of A and C', int('--m'))
  .option('--n <n>', 'columns of B and C', int('--n'))
  .option('--k <n>', 'columns of A, rows of B', int('--k'))
  .option('--seed <n>', 'seed of the generated inputs', int('--seed'))
  .option('--repeats <n>', 'kernel runs (the result reports the median)', int('--repeats'))
  .option('--priority <n>', '0–1000, higher runs first', int('--priority'))
  .option('--wait', 'wait for the job to finish and print its result')
  .addHelpText('after', '\nExample:\n  $ usine submit matmul --m 1024 --n 1024 --k 1024 --repeats 5 --wait')
  .action(async (type: string, o) => {
    const params: Record<string, unknown> = {};
    for (const k of ['m', 'n', 'k', 'seed', 'repeats']) if (o[k] !== undefined) params[k] = o[k];
    const spec = { type, params, ...(o.priority !== undefined ? { priority: o.priority } : {}) } as JobSpecInput;
    const created = await client().submit(spec);
    if (!o.wait) return print(created, `submitted job ${created.id} (${created.state})`);
    if (!json()) console.error(`submitted job ${created.id}; waiting…`);
    const v = await follow(created.id);
    print(v, formatJob(v));
    exitFor(v);
  });

program
  .command('status')
  .description("show a job's state, progress and result")
  .argument('<id>', 'job id')
  .action(async (id: string) => {
    const v = await client().get(id);
    print(v, formatJob(v));
  });

program
  .command('wait')
  .description('wait for a job to finish, showing its progress')
  .argument('<id>', 'job id')
  .action(async (id: string) => {
    const v = await follow(id);
    print(v, formatJob(v));
    exitFor(v);
  });

program
  .command('doctor')
  .description('check this machine: WebGPU adapters, and whether Redis and the scheduler answer')
  .option('--redis <url>', 'Redis URL (env REDIS_URL)', process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
  .action(async (o) => {
    const { runDoctor } = await import('./doctor.ts');
    const report = await runDoctor({ redisUrl: o.redis, client: client() });
    print(report.data, report.text);
    if (!report.ok) process.exitCode = 1;
  });

try {
  await program.parseAsync();
} catch (e) {
  if (e instanceof UsineApiError) {
    console.error(`usine: ${e.message}`);
    process.exitCode = 1;
  } else {
    throw e;
  }
}

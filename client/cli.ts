// The `usine` command-line interface.
import fs from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import YAML from 'yaml';
import { withUsageErrors } from '../kernels/cli.ts';
import { UsineClient, UsineApiError, type JobSpecInput } from './client.ts';
import { formatJob, formatJobList, formatUsage, formatWorkers, table } from './format.ts';
import { CurveFollower } from './curve-follow.ts';
import { resolveSettings, configPath } from './settings.ts';
import { FINAL_STATES, type JobView, type JobState } from '../shared/job-view.ts';
import { TASK_KINDS } from '../shared/train/tasks.ts';

function int(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be an integer`);
    return n;
  };
}
const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const program = new Command('usine')
  .description('Submit and follow GPU jobs on a usine scheduler.')
  .option('--url <url>', 'scheduler URL (env USINE_URL; default http://127.0.0.1:8700)')
  .option('--token <token>', 'API token (env USINE_TOKEN)')
  .addHelpText(
    'after',
    `
The URL and token may also come from ${configPath()} ({"url": "...", "token": "..."}).

Examples:
  $ usine submit matmul --m 256 --n 256 --k 256 --wait
  $ usine submit --file sweep.yaml          # one spec, a list of specs, or {jobs: [...]}
  $ usine submit noop --count 100           # a job array
  $ usine list --state running
  $ usine wait 3f2c…                         # progress bar until it ends
  $ usine cancel 3f2c…
  $ usine workers
  $ usine usage --since 7d
  $ usine doctor`,
  );

function client(): UsineClient {
  return new UsineClient(resolveSettings(program.opts()));
}
// Every command but `demo` takes --json (print machine-readable JSON); `demo --json FILE` writes its report.
let jsonMode = false;
const json = () => jsonMode;
program.hook('preAction', (_program, action) => {
  jsonMode = action.name() !== 'demo' && Boolean(action.opts().json);
});
const print = (v: unknown, human: string) => console.log(json() ? JSON.stringify(v, null, 2) : human);

async function follow(id: string): Promise<JobView> {
  const c = client();
  const bar =
    process.stderr.isTTY && !json()
      ? new cliProgress.SingleBar(
          { format: '{bar} {percentage}% | {state} {message}', stream: process.stderr, hideCursor: true },
          cliProgress.Presets.shades_classic,
        )
      : null;
  bar?.start(100, 0, { state: 'queued', message: '' });
  // A running train job: its curve, read once a second (a sparkline on a terminal, else a line per evaluation).
  const curve = new CurveFollower(c, id);
  let last: JobView | undefined;
  let reading: Promise<void> | undefined;
  let curveFailed = false;
  const readCurve = () =>
    (reading ??= curve
      .next()
      .then((points) => {
        if (json()) return;
        if (bar && last) bar.update({ state: last.state, message: curve.summary() });
        else for (const p of points) if (p.eval) console.error(curve.evalLine(p));
      })
      .catch((e: Error) => {
        // Said once; the job is still followed (its state and result come from the job itself).
        if (!curveFailed && !json()) console.error(`cannot read the job's curve: ${e.message}`);
        curveFailed = true;
      })
      .finally(() => (reading = undefined)));
  const isTrain = () => last?.type === 'train' && last.state !== 'queued';
  const timer = setInterval(() => isTrain() && readCurve(), 1000);
  try {
    const v = await c.wait(id, {
      onUpdate: (v) => {
        const prev = last;
        last = v;
        const done = v.state === 'succeeded';
        const percent = done ? 100 : (v.progress?.percent ?? 0);
        if (isTrain()) {
          // The curve says the rest; without a terminal, a line only when the state changes (the end is printed below).
          if (bar) bar.update(percent, { state: v.state, message: done ? '' : curve.summary() });
          else if (!json() && v.state !== prev?.state && !FINAL_STATES.includes(v.state))
            console.error(`${v.state} ${percent}%`);
          return;
        }
        const message = v.state === 'queued' ? (v.waitingFor ?? '') : done ? '' : (v.progress?.message ?? '');
        if (bar) bar.update(percent, { state: v.state, message });
        else if (!json()) console.error(`${v.state} ${percent}%${message ? ` ${message}` : ''}`);
      },
    });
    clearInterval(timer);
    // The points trained since the last read (the last evaluation among them).
    if (v.type === 'train') {
      await reading;
      await readCurve();
    }
    return v;
  } finally {
    clearInterval(timer);
    bar?.stop();
  }
}

function exitFor(v: JobView): void {
  if (v.state !== 'succeeded') process.exitCode = 1;
}

/** Specs from a JSON or YAML file: one spec, a list of specs, or {jobs: [...]}. */
function specsFromFile(path: string): JobSpecInput[] {
  let doc: unknown;
  try {
    doc = YAML.parse(fs.readFileSync(path, 'utf8')); // YAML is a superset of JSON
  } catch (e) {
    throw new InvalidArgumentError(`cannot read ${path}: ${(e as Error).message}`);
  }
  if (Array.isArray(doc)) return doc as JobSpecInput[];
  if (doc && typeof doc === 'object' && Array.isArray((doc as { jobs?: unknown }).jobs))
    return (doc as { jobs: JobSpecInput[] }).jobs;
  return [doc as JobSpecInput];
}

program
  .command('submit')
  .description('submit a job (or a batch from --file or --count)')
  .option('--json', 'print machine-readable JSON')
  .argument('[type]', 'job type: matmul or noop (omit with --file)')
  .option('--file <path>', 'JSON or YAML spec file: one spec, a list, or {jobs: [...]}')
  .option('--m <n>', 'matmul: rows of A and C', int('--m'))
  .option('--n <n>', 'matmul: columns of B and C', int('--n'))
  .option('--k <n>', 'matmul: columns of A, rows of B', int('--k'))
  .option('--seed <n>', 'matmul: seed of the generated inputs', int('--seed'))
  .option('--repeats <n>', 'matmul: kernel runs (the result reports the median)', int('--repeats'))
  .option('--save-output', 'matmul: keep C as a downloadable artifact')
  .option('--sleep-ms <n>', 'noop: how long to hold the device slot', int('--sleep-ms'))
  .option('--priority <n>', '0–1000, higher runs first within the tenant', int('--priority'))
  .option('--timeout <seconds>', 'fail an attempt running longer than this', int('--timeout'))
  .option('--attempts <n>', 'attempts for retriable failures (default 3)', int('--attempts'))
  .option('--feature <list>', 'required WebGPU features, comma-separated (e.g. shader-f16)', list)
  .option('--region <list>', 'allowed regions, comma-separated', list)
  .option('--vendor <list>', 'allowed GPU vendors, comma-separated', list)
  .option('--count <n>', 'submit N copies in one request (a job array)', int('--count'))
  .option('--tenant <name>', 'admins: submit for this tenant')
  .option('--wait', 'wait for the job to finish and print its result')
  .addHelpText(
    'after',
    '\nExamples:\n  $ usine submit matmul --m 1024 --n 1024 --k 1024 --repeats 5 --wait\n  $ usine submit matmul --m 4096 --n 4096 --k 4096 --feature shader-f16 --region eu-west\n  $ usine submit --file jobs.yaml',
  )
  .action(async (type: string | undefined, o) => {
    let specs: JobSpecInput[];
    if (o.file) {
      specs = specsFromFile(o.file);
    } else {
      if (!type) throw new InvalidArgumentError('give a job type (matmul, noop) or --file');
      const params: Record<string, unknown> = {};
      for (const [flag, key] of [
        ['m', 'm'],
        ['n', 'n'],
        ['k', 'k'],
        ['seed', 'seed'],
        ['repeats', 'repeats'],
        ['sleepMs', 'sleepMs'],
        ['saveOutput', 'saveOutput'],
      ])
        if (o[flag] !== undefined) params[key] = o[flag];
      const requirements = {
        ...(o.feature ? { features: o.feature } : {}),
        ...(o.region ? { regions: o.region } : {}),
        ...(o.vendor ? { vendors: o.vendor } : {}),
      };
      const spec = {
        type,
        params,
        ...(o.priority !== undefined ? { priority: o.priority } : {}),
        ...(o.timeout !== undefined ? { timeoutSeconds: o.timeout } : {}),
        ...(o.attempts !== undefined ? { attempts: o.attempts } : {}),
        ...(Object.keys(requirements).length ? { requirements } : {}),
      } as JobSpecInput;
      specs = Array.from({ length: o.count ?? 1 }, () => spec);
    }
    const c = client();
    if (specs.length > 1) {
      const res = await c.submitBatch(specs, { tenant: o.tenant });
      if (!o.wait) return print(res, `submitted ${res.ids.length} jobs:\n${res.ids.join('\n')}`);
      const views = [];
      for (const id of res.ids) views.push(await c.wait(id));
      print(views, formatJobList(views));
      if (views.some((v) => v.state !== 'succeeded')) process.exitCode = 1;
      return;
    }
    const created = await c.submit(specs[0], { tenant: o.tenant });
    if (!o.wait) return print(created, `submitted job ${created.id} (${created.state})`);
    if (!json()) console.error(`submitted job ${created.id}; waiting…`);
    const v = await follow(created.id);
    print(v, formatJob(v));
    exitFor(v);
  });

program
  .command('status')
  .description("show a job's state, progress and result (or why it waits)")
  .option('--json', 'print machine-readable JSON')
  .argument('<id>', 'job id')
  .action(async (id: string) => {
    const v = await client().get(id);
    print(v, formatJob(v));
  });

program
  .command('wait')
  .description('wait for a job to finish, showing its progress and live figures')
  .option('--json', 'print machine-readable JSON')
  .argument('<id>', 'job id')
  .action(async (id: string) => {
    const v = await follow(id);
    print(v, formatJob(v));
    exitFor(v);
  });

program
  .command('list')
  .description('list jobs, newest first (your own; all for admins)')
  .option('--json', 'print machine-readable JSON')
  .option('--state <state>', 'queued, running, retrying, succeeded, failed or cancelled')
  .option('--type <type>', 'job type')
  .option('--tenant <name>', 'admins: only this tenant')
  .option('--limit <n>', 'at most this many (default 50)', int('--limit'))
  .action(async (o) => {
    const res = await client().list({
      state: o.state as JobState | undefined,
      type: o.type,
      tenant: o.tenant,
      limit: o.limit,
    });
    print(res, formatJobList(res.jobs));
  });

program
  .command('cancel')
  .description('cancel a queued or running job (a running one stops between kernel dispatches)')
  .option('--json', 'print machine-readable JSON')
  .argument('<id>', 'job id')
  .action(async (id: string) => {
    const v = await client().cancel(id);
    print(
      v,
      v.state === 'cancelled'
        ? `job ${id} cancelled`
        : `job ${id}: cancel requested (was ${v.state}); \`usine wait ${id}\` follows it`,
    );
  });

program
  .command('logs')
  .description("print a job's log lines")
  .option('--json', 'print machine-readable JSON')
  .argument('<id>', 'job id')
  .action(async (id: string) => {
    const res = await client().logs(id);
    print(res, res.logs.join('\n') || '(no log lines)');
  });

program
  .command('workers')
  .description('list live workers: adapter, region, slots, running jobs, last heartbeat')
  .option('--json', 'print machine-readable JSON')
  .action(async () => {
    const res = await client().workers();
    print(res, formatWorkers(res.workers));
  });

program
  .command('usage')
  .description('device-seconds, jobs and FLOPs per tenant over a period')
  .option('--json', 'print machine-readable JSON')
  .option('--since <when>', 'a duration (24h, 7d) or an ISO date', '24h')
  .option('--until <when>', 'a duration ago or an ISO date (default now)')
  .action(async (o) => {
    const res = await client().usage({ since: o.since, until: o.until });
    print(res, formatUsage(res));
  });

program
  .command('upload')
  .description('upload a file as an artifact (e.g. a text to train on); prints its id')
  .option('--json', 'print machine-readable JSON')
  .argument('<file>', 'the file')
  .option('--name <name>', 'name to store it under (default: the file name)')
  .action(async (file: string, o) => {
    const meta = await client().upload(o.name ?? file.split('/').pop()!, new Uint8Array(fs.readFileSync(file)));
    print(meta, meta.id);
  });

program
  .command('download')
  .description('download an artifact (a job output or checkpoint)')
  .option('--json', 'print machine-readable JSON')
  .argument('<id>', 'artifact id (see `usine artifacts <job>`)')
  .option('-o, --output <file>', 'where to write it (default: its name)')
  .action(async (id: string, o) => {
    const c = client();
    const meta = await c.artifact(id);
    const out = o.output ?? meta.name.replace(/[^A-Za-z0-9._-]/g, '_');
    fs.writeFileSync(out, await c.download(id));
    print({ ...meta, path: out }, `wrote ${meta.bytes} bytes to ${out}`);
  });

program
  .command('artifacts')
  .description("list a job's artifacts")
  .option('--json', 'print machine-readable JSON')
  .argument('<job>', 'job id')
  .action(async (job: string) => {
    const res = await client().jobArtifacts(job);
    print(
      res,
      res.artifacts.length
        ? table(
            ['ID', 'NAME', 'KIND', 'BYTES', 'CREATED'],
            res.artifacts.map((a) => [a.id, a.name, a.kind, String(a.bytes), a.createdAt]),
          )
        : 'no artifacts',
    );
  });

const tenants = program.command('tenants').description('manage tenants (admin token)');
tenants
  .command('list')
  .description('list tenants')
  .option('--json', 'print machine-readable JSON')
  .action(async () => {
    const res = await client().tenants();
    print(
      res,
      table(
        ['NAME', 'WEIGHT', 'MAX RUNNING', 'MAX QUEUED', 'REGIONS', 'VENDORS', 'TOKENS'],
        res.tenants.map((t) => [
          t.name,
          String(t.weight),
          String(t.maxRunning),
          String(t.maxQueued),
          t.regions.join(',') || '*',
          t.vendors.join(',') || '*',
          String(t.tokens),
        ]),
      ),
    );
  });
tenants
  .command('set')
  .description('create or change a tenant')
  .option('--json', 'print machine-readable JSON')
  .argument('<name>', 'tenant name')
  .option('--weight <w>', 'fair-share weight', Number)
  .option('--max-running <n>', 'most jobs running at once', int('--max-running'))
  .option('--max-queued <n>', 'most jobs queued at once', int('--max-queued'))
  .option('--regions <list>', 'allowed regions', list)
  .option('--vendors <list>', 'allowed GPU vendors', list)
  .action(async (name: string, o) => {
    const body = Object.fromEntries(
      Object.entries({
        weight: o.weight,
        maxRunning: o.maxRunning,
        maxQueued: o.maxQueued,
        regions: o.regions,
        vendors: o.vendors,
      }).filter(([, v]) => v !== undefined),
    );
    const t = await client().putTenant(name, body);
    print(t, `tenant ${t.name}: weight ${t.weight}, maxRunning ${t.maxRunning}, maxQueued ${t.maxQueued}`);
  });
tenants
  .command('token')
  .description('mint an API token for a tenant (shown once)')
  .option('--json', 'print machine-readable JSON')
  .argument('<name>', 'tenant name')
  .action(async (name: string) => {
    const t = await client().mintToken(name);
    print(t, t.token);
  });

program
  .command('demo')
  .description(
    'train a transformer on a task with exact answers, answer held-out prompts from it, report the exact match',
  )
  .addOption(new Option('--task <kind>', 'the task').choices(TASK_KINDS).default('sort'))
  .option(
    '--length <n>',
    'digits per sequence, or at most per operand for add (default: sort, reverse 8; add 3)',
    int('--length'),
  )
  .option('--steps <n>', 'training steps', int('--steps'), 250)
  .option('--examples <n>', 'held-out prompts the inference job answers', int('--examples'), 200)
  .option('--json <file>', 'write {task, steps, seconds, heldOutExactMatch} to this file')
  .addHelpText(
    'after',
    '\nExamples:\n' +
      '  $ usine demo                # sort 8 digits: ≈ 99 % held-out exact match in a few minutes on lavapipe\n' +
      '  $ usine demo --task add     # add numbers of up to 3 digits, answered least significant digit first\n' +
      '  $ usine demo --steps 60 --length 4 --json demo.json',
  )
  .action(async (o) => {
    const { runDemo } = await import('./demo.ts');
    const report = await runDemo(client(), {
      task: o.task,
      length: o.length,
      steps: o.steps,
      examples: o.examples,
      json: o.json,
      log: (l) => console.log(l),
    });
    void report;
  });

program
  .command('doctor')
  .description('check this machine: WebGPU adapters, and whether Redis and the scheduler answer')
  .option('--json', 'print machine-readable JSON')
  .option('--redis <url>', 'Redis URL (env REDIS_URL)', process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
  .action(async (o) => {
    const { runDoctor } = await import('./doctor.ts');
    const report = await runDoctor({ redisUrl: o.redis, client: client() });
    print(report.data, report.text);
    if (!report.ok) process.exitCode = 1;
  });

try {
  await withUsageErrors(program).parseAsync();
} catch (e) {
  if (e instanceof UsineApiError || e instanceof InvalidArgumentError) {
    console.error(`usine: ${e.message}`);
    process.exitCode = e instanceof UsineApiError ? 1 : 2;
  } else {
    throw e;
  }
}

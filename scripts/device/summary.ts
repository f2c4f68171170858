// The end of scripts/device/check.sh: gathers what its steps left in WORK (steps.tsv, each step's
// output, adapters, kernel cases, tuning files) and the benchmark JSONs in OUT into one
// OUT/summary.json, and prints a short recap (the part of the output a device run shows first).
//   node scripts/device/summary.ts WORK OUT   (through tsx)
import fs from 'node:fs';
import path from 'node:path';

const [work, out] = process.argv.slice(2);
if (!work || !out) {
  console.error('usage: summary.ts WORK OUT (the folders check.sh wrote)');
  process.exit(2);
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The JSON in `text`, or undefined where a step died before writing all of it. */
function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const readJson = (file: string) => parse(readText(file));

interface Step {
  name: string;
  status: string;
  rc: number | null;
  seconds: number;
  command: string;
}
const steps: Step[] = readText(path.join(work, 'steps.tsv'))
  .split('\n')
  .filter(Boolean)
  .map((line) => {
    const [name, status, rc, seconds, command] = line.split('\t');
    return { name, status, rc: rc === '' ? null : Number(rc), seconds: Number(seconds), command };
  });

interface Adapter {
  description?: string;
  device?: string;
  vendor?: string;
  backend?: string;
  software?: boolean;
  features?: string[];
}
const adapters = (readJson(path.join(work, 'adapters.json')) as Adapter[] | undefined) ?? [];

interface KernelCase {
  name: string;
  ok: boolean;
  maxErr: number | null;
  worst: number | null;
}
const kernels = readJson(path.join(work, 'kernels.json')) as { cases: KernelCase[] } | undefined;

interface BenchFile {
  results: { kernel: string; impl: string; dtype: string; shape: object; timing: string; ms: number; gflops: number }[];
  skipped?: string[];
}
const bench: Record<string, unknown> = {};
const recap: string[] = [];
for (const file of fs
  .readdirSync(out)
  .filter((f) => /^bench-.*\.json$/.test(f))
  .sort()) {
  const b = readJson(path.join(out, file)) as BenchFile | undefined;
  if (!b) continue;
  const rows = b.results.map((r) => ({
    impl: r.impl,
    shape: r.shape,
    timing: r.timing,
    ms: Math.round(r.ms * 1000) / 1000,
    gflops: Math.round(r.gflops * 10) / 10,
  }));
  bench[file.replace(/\.json$/, '')] = { results: rows, skipped: b.skipped ?? [] };
  // The recap keeps one figure of ours per shape, GPU-timed where the adapter could: the full
  // tables are in check.log and the JSON.
  const best = new Map<string, (typeof rows)[number]>();
  for (const r of rows.filter((x) => x.impl === 'usine')) {
    const key = JSON.stringify(r.shape);
    const old = best.get(key);
    if (!old || (old.timing !== 'gpu' && (r.timing === 'gpu' || old.gflops < r.gflops))) best.set(key, r);
  }
  for (const [shape, r] of best)
    recap.push(`  ${file.replace(/\.json$/, '')} ${shape}: ${r.gflops} GFLOP/s (${r.timing})`);
}

// train-local.ts ends with one JSON line.
const trainLine = readText(path.join(work, 'train.out'))
  .split('\n')
  .filter((l) => l.startsWith('{'))
  .at(-1);
const train = trainLine ? parse(trainLine) : undefined;

const tuningDir = path.join(work, 'tuning');
const tuning = fs.existsSync(tuningDir)
  ? Object.fromEntries(fs.readdirSync(tuningDir).map((f) => [f, readJson(path.join(tuningDir, f))]))
  : {};

const failedCases = kernels?.cases.filter((c) => !c.ok) ?? [];
const summary = {
  date: new Date().toISOString(),
  ok: steps.length > 0 && steps.every((s) => s.status === 'ok' || s.status === 'skipped'),
  quick: process.env.USINE_CHECK_QUICK === '1',
  host: readText(path.join(work, 'host.txt')).trim().split('\n'),
  adapters: adapters.map(({ description, device, vendor, backend, software, features }) => ({
    description,
    device,
    vendor,
    backend,
    software,
    features,
  })),
  steps,
  kernels: kernels && {
    cases: kernels.cases.length,
    failed: failedCases.map((c) => ({ name: c.name, maxErr: c.maxErr, worst: c.worst })),
    worstOk: Math.max(0, ...kernels.cases.filter((c) => c.ok).map((c) => c.worst ?? 0)),
  },
  bench,
  train,
  tuning,
};
fs.writeFileSync(path.join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');

const a = adapters.find((x) => !x.software) ?? adapters[0];
console.log('\n== summary');
console.log(
  `adapter: ${a ? `${a.description || a.device} (${a.vendor}, ${a.backend}${a.software ? ', software' : ''})` : 'none'}`,
);
for (const s of steps) console.log(`  ${s.status.padEnd(8)} ${s.name.padEnd(20)} ${String(s.seconds).padStart(4)} s`);
if (kernels) console.log(`kernel cases: ${kernels.cases.length - failedCases.length}/${kernels.cases.length} ok`);
for (const c of failedCases) console.log(`  FAILED ${c.name} (maxErr ${c.maxErr})`);
for (const line of recap) console.log(line);
if (train) console.log(`train: ${JSON.stringify(train)}`);
console.log(`${summary.ok ? 'ALL OK' : 'NOT ALL OK'}; files in ${out}: ${fs.readdirSync(out).join(', ')}`);

// npm run chaos -- [--only NAME[,NAME…]] [--json FILE] [--short] [--base-port N]
// Runs each fault on a cluster of its own (Redis, schedulers, workers on loopback ports) while
// noop jobs flow, and prints one row per fault. See --help and docs/operations.md.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { FAULTS, runFault, type FaultRow } from './chaos/faults.ts';

const HELP = `Usage: npm run chaos -- [--only NAME[,NAME...]] [--json FILE] [--short] [--base-port N]

Runs faults against a usine cluster of its own while noop jobs flow, and prints one row per
fault: jobs submitted (acknowledged by the API), succeeded, lost, completed more than once
(duplicated), run more than once (reran: a stale worker's run whose result was refused), seconds
to recover (from the fault's end to the first completion of a job submitted after it), and how
the API answered during the fault (fraction answered within 1 s, 503s, refused, hung past 5 s).

Each fault starts its own redis-server (AOF, appendfsync everysec) in a temporary folder, and
schedulers and workers as child processes, on ports base..base+7 (default 8650). The sentinel
fault starts instead a primary, a replica and 3 sentinels (no AOF) on base+10..base+14
(8660-8664), and submits with USINE_SUBMIT_DURABILITY=replica. Workers count
runs and completions per job (USINE_CHAOS_COUNTERS=on). The artifacts-full fault mounts a small
tmpfs when run as root, and otherwise uses a read-only folder.

Faults:
${FAULTS.map((f) => `  ${f.name.padEnd(22)} ${f.title}`).join('\n')}

Options:
  --only NAME[,NAME]  run these faults only
  --json FILE         also write { "faults": [ ... ] } to FILE
  --short             the test suite's shorter waits (Redis frozen 5 s instead of 30, shorter train)
  --base-port N       first port (default 8650)
  --help              this text

Examples:
  npm run chaos                                   every fault (about 3 minutes)
  npm run chaos -- --only redis-stop,redis-kill --json chaos.json
  npm run chaos -- --short                        the test suite's shorter version
`;

const OPTIONS = {
  only: { type: 'string' },
  json: { type: 'string' },
  short: { type: 'boolean', default: false },
  'base-port': { type: 'string', default: '8650' },
  help: { type: 'boolean', default: false },
} as const;
const parsed = (() => {
  try {
    return parseArgs({ options: OPTIONS });
  } catch (e) {
    const m = /'(--?[^']+)'/.exec((e as Error).message);
    process.stderr.write(`error: unknown option '${m?.[1] ?? process.argv[2]}' (see npm run chaos -- --help)\n`);
    process.exit(2);
  }
})();
const { values } = parsed;

if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

const names = values.only ? values.only.split(',').map((s) => s.trim()) : FAULTS.map((f) => f.name);
const unknown = names.filter((n) => !FAULTS.some((f) => f.name === n));
if (unknown.length) {
  console.error(`chaos: no fault named ${unknown.join(', ')}; see npm run chaos -- --help`);
  process.exit(2);
}

const t0 = Date.now();
const progress = (line: string) => console.error(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);
const rows: FaultRow[] = [];
let failed = false;
for (const f of FAULTS.filter((x) => names.includes(x.name))) {
  try {
    const row = await runFault(f, Number(values['base-port']), values.short, progress);
    rows.push(row);
    progress(`${f.name}: ${row.succeeded}/${row.submitted} succeeded, ${row.lost} lost, ${row.duplicated} duplicated`);
  } catch (e) {
    failed = true;
    progress(`${f.name}: could not be run: ${(e as Error).message.split('\n')[0]}`);
  }
}

const head = [
  'fault',
  'submitted',
  'succeeded',
  'lost',
  'duplicated',
  'reran',
  'recovery s',
  'API <1 s',
  '503',
  'refused',
  'hung',
];
const table = rows.map((r) => [
  r.name,
  r.submitted,
  r.succeeded,
  r.lost,
  r.duplicated,
  r.reran,
  r.recoverySeconds ?? 'none',
  `${(r.apiDuringFault.answeredWithin1s * 100).toFixed(0)} %`,
  r.apiDuringFault.status503,
  r.apiDuringFault.refused,
  r.apiDuringFault.hung,
]);
const widths = head.map((h, i) => Math.max(h.length, ...table.map((t) => String(t[i]).length)));
const line = (cells: unknown[]) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
console.log(line(head));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const t of table) console.log(line(t));
for (const r of rows) if (r.note) console.log(`${r.name}: ${r.note}`);
if (values.json) fs.writeFileSync(values.json, JSON.stringify({ faults: rows }, null, 2) + '\n');
process.exit(failed ? 1 : 0);

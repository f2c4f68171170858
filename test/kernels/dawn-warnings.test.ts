// Dawn's "artificially reduced" limit lines leave stderr; everything else on it stays.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dropDawnLimitWarnings } from '../../kernels/dawn-warnings.ts';

const root = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'usine-dawn-warnings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const WARNING =
  'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 ' +
  'to fit dynamic offset allocation limit.\n';

/** Runs `code` in a child whose stderr is a file opened for appending (as with `2>>`); its stderr. */
function stderrOf(code: string, env: Record<string, string> = {}): string {
  const file = join(dir, `stderr-${Math.random().toString(36).slice(2)}.txt`);
  const fd = openSync(file, 'a');
  try {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], {
      cwd: root,
      stdio: ['ignore', 'ignore', fd],
      env: { ...process.env, XDG_RUNTIME_DIR: '/tmp', USINE_DAWN_WARNINGS: '', ...env },
      timeout: 60_000,
    });
    expect(r.status).toBe(0);
  } finally {
    closeSync(fd);
  }
  return readFileSync(file, 'utf8');
}

describe('Dawn limit warnings', () => {
  it('drops exactly the two limit lines', () => {
    const uniform = WARNING.replace('Storage', 'Uniform');
    expect(dropDawnLimitWarnings(`a\n${uniform}${WARNING}b\n`)).toBe('a\nb\n');
    expect(dropDawnLimitWarnings(`x ${WARNING}`)).toBe(`x ${WARNING}`);
    expect(dropDawnLimitWarnings(WARNING.trimEnd())).toBe(WARNING.trimEnd()); // partial line kept
  });

  it('opening a device prints nothing, and stderr works before and after', () => {
    const code =
      "import('./kernels/device.ts').then(async (m) => { console.error('before');" +
      " const d = await m.openDevice(); d.close(); console.error('after'); })";
    expect(stderrOf(code)).toBe('before\nafter\n');
    // The lines are real: without the diversion they are there.
    expect(stderrOf(code, { USINE_DAWN_WARNINGS: '1' })).toMatch(/artificially reduced/);
  });

  it('passes on whatever else native code writes to descriptor 2 meanwhile', () => {
    const code =
      "import('node:fs').then(async (fs) => { const m = await import('./kernels/dawn-warnings.ts');" +
      ` m.withoutDawnLimitWarnings(() => fs.writeSync(2, ${JSON.stringify(`mesa: other\n${WARNING}`)}));` +
      " console.error('after'); })";
    expect(stderrOf(code)).toBe('mesa: other\nafter\n');
  });
});

// Dawn's "artificially reduced" limit lines leave what a person reads; everything else stays.
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { listAdaptersQuietly } from '../../kernels/adapter-list.ts';
import { dropDawnLimitWarnings, pipeWithoutDawnLimitWarnings } from '../../kernels/dawn-warnings.ts';
import { ROOT } from '../support/processes.ts';

// USINE_DAWN_WARNINGS=1 in the environment keeps the lines; these tests are of the default.
delete process.env.USINE_DAWN_WARNINGS;

const WARNING =
  'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 ' +
  'to fit dynamic offset allocation limit.\n';

/** What a child running `code` writes to its stderr, as is. */
async function rawStderr(code: string): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', code], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, XDG_RUNTIME_DIR: '/tmp' },
  });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  await new Promise((resolve) => child.once('close', resolve));
  return err;
}

describe('Dawn limit warnings', () => {
  it('drops exactly the two limit lines', () => {
    const uniform = WARNING.replace('Storage', 'Uniform');
    expect(dropDawnLimitWarnings(`a\n${uniform}${WARNING}b\n`)).toBe('a\nb\n');
    expect(dropDawnLimitWarnings(`x ${WARNING}`)).toBe(`x ${WARNING}`);
    expect(dropDawnLimitWarnings(WARNING.trimEnd())).toBe(WARNING.trimEnd()); // partial line kept
  });

  it('a piped stream keeps every other line, in order', async () => {
    const from = new PassThrough();
    const out = new PassThrough();
    let got = '';
    out.setEncoding('utf8').on('data', (d: string) => (got += d));
    pipeWithoutDawnLimitWarnings(from, out);
    from.end(`mesa: one\n${WARNING}${WARNING.replace('Storage', 'Uniform')}two\nlast`);
    await new Promise((r) => setTimeout(r, 20));
    expect(got).toBe('mesa: one\ntwo\nlast\n');
  });

  it('opening a device prints them (they are real); listing adapters quietly does not', async () => {
    expect(await rawStderr("import('./kernels/device.ts').then(async (m) => (await m.openDevice()).close())")).toMatch(
      /artificially reduced/,
    );
    const errors: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => (errors.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      const adapters = await listAdaptersQuietly();
      expect(adapters.length).toBeGreaterThan(0);
      expect(adapters[0].name).toBeTruthy();
      expect(adapters[0].limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
    } finally {
      process.stderr.write = write;
    }
    expect(errors.join('')).toBe('');
  });
});

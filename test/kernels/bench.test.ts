// The benchmark end to end on a tiny size: every implementation (ours, the naive WGSL kernel,
// ONNX Runtime WebGPU and TF.js WebGPU, the last two in their child processes) gives a positive
// figure, and --json writes the documented structure. No timing is asserted.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usine-bench-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('npm run bench', () => {
  it('runs matmul on a tiny size with every impl and writes --json', async () => {
    const json = path.join(dir, 'out.json');
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'kernels/bench/main.ts',
        '--sizes',
        '32,17x9x13',
        '--repeats',
        '2',
        '--json',
        json,
        '--tuning-dir',
        dir,
      ],
      { env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' }, timeout: 110_000 },
    );
    expect(stdout).toMatch(/adapter: /);
    expect(stdout).toMatch(/usine ×/);
    const out = JSON.parse(fs.readFileSync(json, 'utf8'));
    for (const k of ['vendor', 'architecture', 'device', 'backend']) expect(typeof out.adapter[k]).toBe('string');
    expect(out.skipped).toEqual([]);
    for (const impl of ['usine', 'naive', 'ort', 'tfjs']) {
      for (const shape of [
        { m: 32, n: 32, k: 32 },
        { m: 17, n: 9, k: 13 },
      ]) {
        const rows = out.results.filter(
          (r: { impl: string; shape: object }) => r.impl === impl && JSON.stringify(r.shape) === JSON.stringify(shape),
        );
        expect(rows.length, `${impl} ${JSON.stringify(shape)}`).toBeGreaterThan(0);
        for (const r of rows) {
          expect(r).toMatchObject({ kernel: 'matmul', dtype: 'f32' });
          expect(r.ms).toBeGreaterThan(0);
          expect(r.gflops).toBeGreaterThan(0);
        }
      }
    }
  });

  it('--help explains the options', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'kernels/bench/main.ts', '--help']);
    for (const opt of ['--kernel', '--sizes', '--dtype', '--repeats', '--json', '--tune'])
      expect(stdout).toContain(opt);
  });
});

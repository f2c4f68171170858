// Runs a baseline in its own Node process (ONNX Runtime ships its own Dawn; TF.js wants a
// global navigator.gpu): the child prints one JSON line `{ "times": [...] }` or `{ "error" }`.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ChildTimes {
  times: number[];
  info?: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));

/** Spawns `baselines/<script>` with `request` as JSON and returns its timings. */
export function runChild(script: string, request: unknown, timeoutMs = 600_000): Promise<ChildTimes> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, script), JSON.stringify(request)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .pop();
      try {
        const r = JSON.parse(line ?? '') as ChildTimes & { error?: string };
        if (r.error) reject(new Error(r.error));
        else resolve(r);
      } catch {
        const tail = err
          .trim()
          .split('\n')
          .filter((l) => !/^Warning:/.test(l))
          .slice(-3)
          .join(' | ');
        reject(new Error(`${script} exited with code ${code}${tail ? `: ${tail}` : ''}`));
      }
    });
  });
}

/** In a child: prints the result line and exits (Dawn may otherwise keep the process alive). */
export function reply(r: ChildTimes | { error: string }): never {
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
}

// The WebGPU adapters of this machine, listed in a child process so that Dawn's limit warnings
// (dawn-warnings.ts) reach neither the caller's stderr nor a person reading it. For commands
// that show their output (`npm start`, `usine doctor`); a worker calls listAdapters() itself.
// Run as a script, this module prints the list as JSON.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pipeWithoutDawnLimitWarnings } from './dawn-warnings.ts';
import { listAdapters, type ListedAdapter } from './device.ts';

const self = fileURLToPath(import.meta.url);

export async function listAdaptersQuietly(): Promise<ListedAdapter[]> {
  // Absolute, so it works whatever the caller's working directory.
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), self], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  pipeWithoutDawnLimitWarnings(child.stderr);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`listing the WebGPU adapters failed (exit code ${code})`);
  return JSON.parse(out) as ListedAdapter[];
}

if (process.argv[1] === self) process.stdout.write(JSON.stringify(await listAdapters()));

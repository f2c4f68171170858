// Runs one of the repository's TypeScript scripts in a child Node (through tsx) from its root,
// as `npm run …` would; resolves with its stdout, rejects with its stderr.
import { execFile } from 'node:child_process';
import path from 'node:path';

const root = path.join(import.meta.dirname, '../..');

export function runScript(file: string, args: string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      ['--import', 'tsx', file, ...args],
      { cwd: root, timeout: timeoutMs },
      (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)),
    ),
  );
}

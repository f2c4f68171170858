// Running Debian's promtool (package `prometheus`, installed by scripts/setup-system.sh --with-prometheus).
import { spawn } from 'node:child_process';

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `promtool args…` with `input` on stdin. */
export function promtool(args: string[], input?: string, cwd?: string): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const p = spawn('promtool', args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.once('error', (e) =>
      reject(
        new Error(`cannot run promtool (${e.message}); install it: bash scripts/setup-system.sh --with-prometheus`),
      ),
    );
    p.once('close', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(input ?? '');
  });
}

// Dawn prints two lines to stderr each time one of its instances first looks at a Vulkan
// adapter whose driver reports more dynamic buffers than Dawn supports (lavapipe says 1000000):
//   Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 …
// It clamps the adapter limit in NormalizeLimits (src/dawn/native/Limits.cpp) and logs with
// dawn::WarningLog, a bare fprintf(stderr) with no toggle, log level or callback to turn it off,
// whatever limits we request. The clamp is harmless (our kernels use no dynamic offsets),
// so the lines only bury real output. Native code writes to file descriptor 2 itself, so
// wrapping process.stderr.write cannot catch them: while Dawn enumerates adapters we point
// descriptor 2 at a temporary file, then restore it and pass on everything else it captured.
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LIMIT_WARNING = new RegExp(
  '^Warning: maxDynamic(Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \\d+ to \\d+ ' +
    'to fit dynamic offset allocation limit\\.$',
);

/** True for one of Dawn's two "artificially reduced" limit lines. */
export function isDawnLimitWarning(line: string): boolean {
  return LIMIT_WARNING.test(line.trimEnd());
}

/** `text` without Dawn's limit lines; other lines, and a final partial line, pass unchanged. */
export function dropDawnLimitWarnings(text: string): string {
  return text
    .split(/(?<=\n)/)
    .filter((line) => !(line.endsWith('\n') && isDawnLimitWarning(line)))
    .join('');
}

/**
 * Runs `call` (synchronous: Dawn enumerates adapters inside the first requestAdapter() call of
 * an instance, before the promise returns) with Dawn's limit warnings removed from stderr.
 * USINE_DAWN_WARNINGS=1 leaves stderr alone.
 */
export function withoutDawnLimitWarnings<T>(call: () => T): T {
  const diversion = divertStderr();
  if (!diversion) return call();
  try {
    return call();
  } finally {
    diversion.restore();
  }
}

const STDERR = 2;
const O_APPEND = 0o2000;
const REOPEN = constants.O_WRONLY | constants.O_APPEND | constants.O_NOCTTY;

/**
 * Points descriptor 2 at an unlinked temporary file. Node cannot dup2, so this closes 2 and
 * opens the file, which the kernel gives the lowest free number: 2. Undoing it reopens the
 * original stderr through /proc, which is faithful for a terminal, a pipe, a character device
 * and a file opened for appending. For anything else (a socket: the stdio 'pipe' of a Node
 * parent such as vitest, which filters in its own process; a file being overwritten, where a
 * second file position would clobber output) this returns null and stderr is left alone.
 */
function divertStderr(): { restore(): void } | null {
  if (process.platform !== 'linux' || process.env.USINE_DAWN_WARNINGS) return null;
  let original: number;
  let restoreFlags: number;
  try {
    const st = fstatSync(STDERR);
    const flags = fdFlags(STDERR);
    if (st.isSocket()) return null;
    if (st.isFile() && (flags & O_APPEND) === 0) return null;
    // Keep stderr blocking or not as it was. The first open is non-blocking because opening
    // a pipe for writing waits until the pipe has a reader; this one fails instead.
    restoreFlags = REOPEN | (flags & constants.O_NONBLOCK);
    original = openSync('/proc/self/fd/2', REOPEN | constants.O_NONBLOCK);
  } catch {
    return null; // no /proc, no stderr, a pipe nobody reads: nothing to protect
  }
  const path = join(tmpdir(), `usine-dawn-stderr-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  let capture: number;
  try {
    capture = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
    unlinkSync(path);
  } catch {
    closeSync(original);
    return null;
  }
  // Between closing 2 and opening the file, another thread opening a file could get the number
  // 2 (a window of one system call). Then Dawn's lines would land in that file and there is no
  // way to move it; we only make sure not to write anything more there ourselves.
  closeSync(STDERR);
  const diverted = reopenAt(capture, constants.O_WRONLY);
  return {
    restore() {
      if (diverted) closeSync(STDERR);
      const restored = diverted && reopenAt(original, restoreFlags);
      closeSync(original);
      const rest = diverted ? dropDawnLimitWarnings(readAll(capture)) : '';
      closeSync(capture);
      try {
        if (rest && restored) writeSync(STDERR, rest);
      } catch {
        // stderr full or gone: as for any other write to it, nothing better to do
      }
    },
  };
}

/** Opens `fd`'s file again; true when it landed on descriptor 2 (else it is closed again). */
function reopenAt(fd: number, flags: number): boolean {
  let got: number;
  try {
    got = openSync(`/proc/self/fd/${fd}`, flags);
  } catch {
    return false;
  }
  if (got === STDERR) return true;
  closeSync(got);
  return false;
}

function fdFlags(fd: number): number {
  const m = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  return m ? parseInt(m[1], 8) : 0;
}

function readAll(fd: number): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(64 * 1024);
  for (let pos = 0; ; ) {
    const n = readSync(fd, buf, 0, buf.length, pos);
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
    pos += n;
  }
  return Buffer.concat(chunks).toString('utf8');
}

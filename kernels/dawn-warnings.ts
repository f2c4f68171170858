// Dawn prints two lines to stderr each time one of its instances first looks at a Vulkan
// adapter whose driver reports more dynamic buffers than Dawn supports (lavapipe says 1000000):
//   Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 …
// It clamps the limit in NormalizeLimits (src/dawn/native/Limits.cpp) and logs with a bare
// fprintf(stderr): no toggle, log level or callback turns it off, whatever limits we request.
// The clamp is harmless (our kernels use no dynamic offsets), but the lines bury real output.
// Native code writes to file descriptor 2 itself, which a process cannot filter for itself
// (Node has no dup2), so the parent does: `npm start` for its workers, vitest for its test
// processes, and listAdaptersQuietly() (adapter-list.ts) for `npm start` and `usine doctor`.
// USINE_DAWN_WARNINGS=1 keeps them.
import readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';

const LIMIT_WARNING = new RegExp(
  '^Warning: maxDynamic(Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \\d+ to \\d+ ' +
    'to fit dynamic offset allocation limit\\.$',
);

const keep = () => Boolean(process.env.USINE_DAWN_WARNINGS);

/** True for one of Dawn's two "artificially reduced" limit lines. */
export function isDawnLimitWarning(line: string): boolean {
  return LIMIT_WARNING.test(line.trimEnd());
}

/** `text` without Dawn's limit lines; other lines, and a final partial line, pass unchanged. */
export function dropDawnLimitWarnings(text: string): string {
  if (keep()) return text;
  return text
    .split(/(?<=\n)/)
    .filter((line) => !(line.endsWith('\n') && isDawnLimitWarning(line)))
    .join('');
}

/** Copies a child's stderr to `out` line by line, without Dawn's limit lines. */
export function pipeWithoutDawnLimitWarnings(from: Readable, out: Writable = process.stderr): void {
  if (keep()) {
    from.pipe(out);
    return;
  }
  readline.createInterface({ input: from, crlfDelay: Infinity }).on('line', (line) => {
    if (!isDawnLimitWarning(line)) out.write(`${line}\n`);
  });
}

// Benchmarks start their own Redis and usine processes: interrupted (Ctrl-C, a timeout's
// SIGTERM), they take them down before exiting with 130, as a shell expects of an interrupt.
export function onInterrupt(cleanup: () => Promise<unknown>): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      cleanup()
        .catch(() => {})
        .finally(() => process.exit(130));
    });
}

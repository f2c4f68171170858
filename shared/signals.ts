// How usine's processes stop on a signal: the first one stops cleanly, then the process exits 0;
// another one while that runs calls `again` (by default: exit 130 at once). A clean stop that
// fails is reported and exits 1, never an unhandled rejection.
export interface StopHandlers {
  stop(signal: NodeJS.Signals): Promise<void>;
  again?(): void;
  failed(err: Error): void;
}

export function stopOnSignals(signals: readonly NodeJS.Signals[], h: StopHandlers): void {
  let stopping = false;
  for (const signal of signals) {
    process.on(signal, () => {
      if (stopping) return h.again ? h.again() : process.exit(130);
      stopping = true;
      h.stop(signal).then(
        () => process.exit(0),
        (err: Error) => {
          h.failed(err);
          process.exit(1);
        },
      );
    });
  }
}

// What every usine command line does, whatever its layer (hence here, in the bottom one):
// commander parses it; --help prints what the command does, its options and an example, and
// exits 0 before anything is opened; a usage error (an unknown option, a missing or bad value)
// prints one line and exits 2, the shells' code for a misused command, instead of a stack trace.
import { InvalidArgumentError, type Command } from 'commander';

/** Applies the conventions to `program` and every subcommand defined so far; call it just before parse(). */
export function withUsageErrors<T extends Command>(program: T): T {
  const visit = (cmd: Command, path: string) => {
    cmd
      .showHelpAfterError(false)
      .configureOutput({ outputError: (message, write) => write(`${message.trimEnd()} (see ${path} --help)\n`) })
      .exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : 2));
    for (const sub of cmd.commands) visit(sub, `${path} ${sub.name()}`);
  };
  visit(program, program.name());
  return program;
}

/** An option parser for an integer of at least `min`. */
export function integer(min = Number.MIN_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) {
      const bound = min === Number.MIN_SAFE_INTEGER ? '' : ` ≥ ${min}`;
      throw new InvalidArgumentError(`expected an integer${bound}`);
    }
    return n;
  };
}

/** An option parser for a finite number. */
export function number(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number');
  return n;
}

// Structured logs: JSON lines for machines; pretty lines when a person watches a terminal.
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  const pretty = process.stdout.isTTY && process.env.USINE_LOG_FORMAT !== 'json';
  const options = { name, level, base: { proc: name } };
  if (pretty)
    return pino({
      ...options,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' },
      },
    });
  // Buffered, asynchronous writes: lines go out 4 KiB at a time or every 250 ms, whichever
  // comes first (a busy worker logs thousands of lines a second, and each write is a syscall).
  // pino flushes what is left when the process exits.
  return pino(options, pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 250 }));
}

// Structured logs: JSON lines for machines; pretty lines when a person watches a terminal.
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  const pretty = process.stdout.isTTY && process.env.USINE_LOG_FORMAT !== 'json';
  return pino({
    name,
    level,
    base: { proc: name },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
  });
}

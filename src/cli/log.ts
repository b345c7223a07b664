/**
 * Logger factory for the CLI. The library itself only takes an injected {@link Logger}.
 */
import { createRequire } from 'node:module';
import { pino, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from '../shared/types.js';

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  /** @default 'info' */
  level?: LogLevel;
  /** Human-readable lines instead of JSON. @default process.stderr.isTTY */
  pretty?: boolean;
  /** Where to write. @default stderr (file descriptor 2) */
  destination?: NodeJS.WritableStream;
}

/**
 * A pino logger writing to stderr (stdout is for results). JSON lines, or readable lines when
 * stderr is a terminal. Writes are synchronous so nothing is lost when the CLI exits.
 */
export function createLogger(options: LoggerOptions = {}): PinoLogger {
  const level = options.level ?? 'info';
  // Logs carry names, relative paths, codes and digests; services and environments never, even if
  // a caller passes them along by mistake.
  const redact = { paths: ['deps', '*.deps', 'env', '*.env', 'source.code', 'sourceCode'], censor: '[redacted]' };
  const base = { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime, redact };
  const destination = options.destination ?? 2;
  if (options.pretty ?? process.stderr.isTTY === true) {
    // Loaded only for a terminal: JSON boots (CI, services) never pay for pino-pretty.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    return pino(
      base,
      pretty({
        destination,
        sync: true,
        ...(options.destination === undefined ? {} : { colorize: false }),
        ignore: 'event',
        translateTime: 'HH:MM:ss.l',
      }),
    );
  }
  return pino(base, typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination);
}

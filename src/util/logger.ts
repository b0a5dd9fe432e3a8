import { pino, type Logger as PinoLogger } from 'pino';

/** The logger interface every module receives (a pino logger satisfies it). */
export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
  isLevelEnabled?(level: string): boolean;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/**
 * Create the process logger. Logs go to stderr so a command's stdout stays machine-readable.
 * `redact` removes private key material by path wherever it appears.
 */
export function createLogger(level: LogLevel = 'info', destination: NodeJS.WritableStream = process.stderr): Logger {
  const logger: PinoLogger = pino(
    {
      level,
      base: undefined,
      redact: { paths: ['*.privateKey', '*.secretKey', '*.token', '*.password', 'privateKey', 'secretKey', 'token', 'password'], censor: '[redacted]' },
    },
    destination,
  );
  return logger as unknown as Logger;
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return createLogger('silent');
}

/** A namespaced child logger: one namespace per module. */
export function moduleLogger(parent: Logger, module: string): Logger {
  return parent.child({ module });
}

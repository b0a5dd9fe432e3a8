import type { Command } from 'commander';
import type { Writable } from 'node:stream';

/** What every command module receives: where to write, and the process environment. */
export interface CliContext {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** Set by a command's action: the process exit code. */
  setExitCode(code: number): void;
}

/** A command module registers its subcommands on the root program. */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;

/** Write one line to a stream. */
export function writeLine(stream: Writable, line: string): void {
  stream.write(line.endsWith('\n') ? line : `${line}\n`);
}

/** Parse a positive integer CLI option or throw a usage error naming the option. */
export function parsePositiveInt(name: string, min = 1, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new UsageError(`${name} must be an integer between ${min} and ${max}, got "${value}"`);
    }
    return n;
  };
}

/** Parse a positive number CLI option or throw a usage error naming the option. */
export function parsePositiveNumber(name: string, min = 0, max = Number.MAX_VALUE) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new UsageError(`${name} must be a number between ${min} and ${max}, got "${value}"`);
    }
    return n;
  };
}

/** A bad CLI argument: exits with ExitCode.USAGE and the message. */
export class UsageError extends Error {
  readonly code = 'CLI_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Resolve on SIGINT/SIGTERM, or after `seconds` when given; removes its listeners and timer. */
export async function untilSignalOrTimeout(seconds?: number): Promise<void> {
  let stop: () => void = () => undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await new Promise<void>((resolve) => {
    stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (seconds !== undefined) timer = setTimeout(stop, seconds * 1000);
  });
  process.removeListener('SIGINT', stop);
  process.removeListener('SIGTERM', stop);
  if (timer) clearTimeout(timer);
}

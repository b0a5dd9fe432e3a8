/**
 * The one error catalog. Every error the runtime raises on purpose is an `H3lixError` with a stable
 * `code` (documented in README "Error codes"), an optional `cause`, and `retryable`: whether trying the
 * same thing again later can help (a broker that is down: yes; a forged signature: no).
 */
export type ErrorCode =
  // configuration and CLI
  | 'CONFIG_INVALID'
  | 'CONFIG_NOT_FOUND'
  | 'CLI_USAGE'
  // wire decoding (DESIGN section 7)
  | 'WIRE_MALFORMED'
  | 'WIRE_TRUNCATED'
  | 'WIRE_OVERSIZE'
  | 'WIRE_TYPE'
  | 'WIRE_BAD_SIGNATURE'
  | 'WIRE_REPLAY'
  | 'WIRE_VERSION'
  | 'WIRE_FLEET'
  | 'WIRE_UNKNOWN_SENDER'
  | 'WIRE_REVOKED'
  | 'WIRE_CERT_EXPIRED'
  | 'WIRE_CHUNK'
  | 'WIRE_ORIGIN_SIG'
  // storage
  | 'STORE_CORRUPT'
  | 'STORE_IO'
  | 'OUTBOX_FULL'
  // sync / broker
  | 'BROKER_UNAVAILABLE'
  // models / inference
  | 'MODEL_INVALID'
  | 'MODEL_CHECKSUM'
  | 'INFERENCE_FAILED'
  | 'DATA_INVALID'
  // privacy
  | 'PRIVACY_BUDGET_SPENT'
  // serial / firmware bridge
  | 'SERIAL_UNAVAILABLE'
  | 'FRAME_CHECKSUM'
  | 'FRAME_MALFORMED'
  | 'REQUEST_TIMEOUT'
  | 'SOURCE_URI'
  // energy / scheduler
  | 'SCHEDULER_LOCKED'
  | 'BOARD_UNKNOWN'
  // fleet
  | 'CLAIM_INVALID'
  | 'CLAIM_EXPIRED'
  | 'CLAIM_EXHAUSTED'
  | 'PROVISION_REJECTED'
  | 'PROVISION_TIMEOUT'
  | 'AUTH_FAILED'
  | 'COMMAND_REFUSED'
  // bundles and updates (docs/bundle.md)
  | 'BUNDLE_INVALID'
  | 'BUNDLE_SIGNATURE'
  | 'BUNDLE_ARCH'
  | 'UPDATE_FAILED'
  // companion-MCU firmware images and updates (firmware-bridge/README.md "Firmware updates")
  | 'FIRMWARE_IMAGE'
  | 'FIRMWARE_SIGNATURE'
  | 'FIRMWARE_BOARD'
  | 'FIRMWARE_DOWNGRADE'
  | 'FIRMWARE_UPDATE'
  | 'INTERNAL';

export interface H3lixErrorOptions {
  cause?: unknown;
  /** Whether retrying the same operation later can help. Default: false. */
  retryable?: boolean;
  /** Extra structured detail for logs and counters (never secrets). */
  detail?: Record<string, unknown>;
}

export class H3lixError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly detail: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: H3lixErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'H3lixError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.detail = options.detail;
  }
}

/** Wire bytes were rejected; `code` says which check failed. Never retryable. */
export class WireError extends H3lixError {
  constructor(code: ErrorCode, message: string, options: H3lixErrorOptions = {}) {
    super(code, message, options);
    this.name = 'WireError';
  }
}

/** A configuration file or value was rejected; `key` is the dotted path of the bad key. */
export class ConfigError extends H3lixError {
  readonly key: string;
  constructor(key: string, message: string, options: H3lixErrorOptions = {}) {
    super('CONFIG_INVALID', key ? `${key}: ${message}` : message, options);
    this.name = 'ConfigError';
    this.key = key;
  }
}

export function isH3lixError(err: unknown): err is H3lixError {
  return err instanceof H3lixError;
}

/** Normalise anything thrown into a message fit for a log line or the CLI. */
export function describeError(err: unknown): string {
  if (err instanceof H3lixError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}

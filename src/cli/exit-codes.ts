/**
 * Process exit codes of every `h3lix` command (documented in README "CLI").
 * Modelled on sysexits(3) so service managers can tell a config mistake from a transient failure.
 */
export const ExitCode = {
  /** Success. */
  OK: 0,
  /** The command ran but its result is negative (e.g. demo did not converge, a check found problems). */
  FAILED: 1,
  /** Bad command-line usage (unknown option, bad argument). */
  USAGE: 64,
  /** Input data was invalid (CSV, trace, frames). */
  DATA: 65,
  /** A required service (broker, serial port) was unavailable. */
  UNAVAILABLE: 69,
  /** Internal error (a bug: please report). */
  SOFTWARE: 70,
  /** Storage could not be read or written. */
  IO: 74,
  /** Configuration invalid or missing. */
  CONFIG: 78,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

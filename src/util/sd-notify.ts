import { execFile } from 'node:child_process';

/**
 * sd_notify(3) without a compiled addon. The protocol is one datagram on the AF_UNIX socket named by
 * $NOTIFY_SOCKET, and Node has no unix datagram sockets, so the datagram is sent by systemd's own
 * `systemd-notify` (always installed with systemd). It runs as a child process, so the unit needs
 * `NotifyAccess=all`; `--pid` names the daemon as the main PID. Since systemd 246 `systemd-notify`
 * waits on a BARRIER=1 until the manager has processed the message, so it cannot race its own exit.
 */
export interface SdNotifier {
  /** Send `KEY=value` assignments (READY=1, WATCHDOG=1, STATUS=..., STOPPING=1). Resolves false on failure. */
  notify(assignments: string[]): Promise<boolean>;
}

/** Options of {@link createSdNotifier}. */
export interface SdNotifierOptions {
  env: NodeJS.ProcessEnv;
  /** The daemon's PID (MAINPID=). Default: process.pid. */
  pid?: number;
  /** The helper binary. Default: `systemd-notify`. */
  command?: string;
  /** Called with the reason when a notification could not be sent. */
  onError?: (reason: string) => void;
}

/** A notifier, or undefined when not started by systemd with a notify socket (nothing to do). */
export function createSdNotifier(o: SdNotifierOptions): SdNotifier | undefined {
  const socket = o.env.NOTIFY_SOCKET;
  if (!socket) return undefined;
  const pid = o.pid ?? process.pid;
  const command = o.command ?? 'systemd-notify';
  return {
    notify: (assignments) =>
      new Promise((resolve) => {
        const args = [`--pid=${pid}`, ...assignments.filter((a) => /^[A-Z_]+=[^\n]*$/.test(a))];
        execFile(command, args, { env: { ...o.env, NOTIFY_SOCKET: socket }, timeout: 10_000 }, (err, _out, stderr) => {
          if (err) o.onError?.(`${command} ${assignments.join(' ')}: ${stderr.trim() || err.message}`);
          resolve(!err);
        });
      }),
  };
}

/** The watchdog ping interval systemd asked for: half of $WATCHDOG_USEC (sd_watchdog_enabled(3)), or undefined. */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid = process.pid): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID !== undefined && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}

import { spawn, type ChildProcess } from 'node:child_process';
import { H3lixError } from '../../../src/errors.js';

/** A socat-made pseudo-terminal pair: consumers open `path`; the emulator writes to `peer`. */
export interface PtyPair {
  path: string;
  peer: string;
  pid: number;
  /** Kill socat (both ptys disappear) and wait for it to exit. */
  close(): Promise<void>;
}

/**
 * Spawn `socat -d -d pty,raw,echo=0,link=PATH pty,raw,echo=0` and wait until it reports both ptys
 * ("N PTY is /dev/pts/N") and its transfer loop. Fails with SERIAL_UNAVAILABLE naming the reason
 * (socat missing, PATH not creatable) within `timeoutMs` (default 5000).
 */
export function spawnPtyPair(path: string, options: { socat?: string; timeoutMs?: number } = {}): Promise<PtyPair> {
  const socat = options.socat ?? '/usr/bin/socat';
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(socat, ['-d', '-d', `pty,raw,echo=0,link=${path}`, 'pty,raw,echo=0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    let settled = false;
    const ptys: string[] = [];
    const fail = (msg: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGTERM');
      reject(new H3lixError('SERIAL_UNAVAILABLE', `socat pty ${path}: ${msg}`, { retryable: false, detail: { log: log.slice(-500) } }));
    };
    const timer = setTimeout(() => fail(`no pty within ${options.timeoutMs ?? 5000} ms`), options.timeoutMs ?? 5000);
    child.on('error', (err) => fail(`cannot run ${socat}: ${err.message}`));
    child.on('exit', (code) => fail(`socat exited with ${code}: ${log.trim().split('\n').pop() ?? ''}`));
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      for (const m of log.matchAll(/PTY is (\S+)/g)) if (!ptys.includes(m[1]!)) ptys.push(m[1]!);
      if (!settled && ptys.length >= 2 && /starting data transfer loop/.test(log)) {
        settled = true;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        resolve({
          path,
          peer: ptys[1]!,
          pid: child.pid!,
          close: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            await exited;
          },
        });
      }
    });
  });
}

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, existsSync, mkdtempSync, openSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { H3lixError } from '../../../src/errors.js';
import { systemClock } from '../../../src/util/clock.js';
import { serialLink } from '../link/link.js';
import { McuClient } from '../mcu/client.js';

/** Where the reference firmware runs: a POSIX process, or the Cortex-M3 image under QEMU mps2-an385. */
export type FirmwareTarget = 'host' | 'qemu';

/** Options of {@link startFirmware}. */
export interface StartFirmwareOptions {
  target: FirmwareTarget;
  /** Consumers open this path (a symlink to the firmware's pty). */
  pty: string;
  /** Firmware folder (with build/). Default: found from this module (firmware-bridge/firmware). */
  dir?: string;
  /** Settings flash file (host target). Default: none (defaults at every start). */
  flashFile?: string;
  /**
   * QEMU target with A/B slots: the update flash file (see nv-flash.ts). QEMU then runs the boot stage
   * (`build/h3lix-boot-mps2.elf`, or `kernel`), which boots a slot of this file; the file persists
   * across QEMU restarts as flash does across power cuts. Default: none (the standalone image).
   */
  nvFile?: string;
  /** Override the image QEMU runs (e.g. a test build of the boot stage). */
  kernel?: string;
  /** QEMU binary. Default `qemu-system-arm` on PATH. */
  qemu?: string;
  /** Give up waiting for the pty after this long. Default 10000 ms. */
  timeoutMs?: number;
}

/** A running firmware instance. */
export interface RunningFirmware {
  target: FirmwareTarget;
  path: string;
  /** The pty the firmware's UART is on. */
  device: string;
  pid: number;
  /** Lines the firmware printed on stderr (host target: "host power on/off"; QEMU boot stage: "boot slot N"). */
  readonly log: string[];
  stop(): Promise<void>;
  /** Power cut: SIGKILL, no chance to finish anything (the update flash keeps what was written). */
  kill(): Promise<void>;
}

/** The firmware folder: `firmware-bridge/firmware` next to this source tree (or `H3LIX_FIRMWARE_DIR`). */
export function firmwareDir(): string {
  if (process.env['H3LIX_FIRMWARE_DIR']) return process.env['H3LIX_FIRMWARE_DIR'];
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'firmware-bridge', 'firmware');
    if (existsSync(join(candidate, 'Makefile'))) return candidate;
    if (existsSync(join(dir, 'firmware', 'Makefile'))) return join(dir, 'firmware');
    dir = dirname(dir);
  }
  return join(process.cwd(), 'firmware-bridge', 'firmware');
}

/**
 * Longest flash-file path passed to the firmware as is. Its semihosting buffer is 200 bytes and QEMU
 * needs room for the NUL beyond the length it reports: 199 bytes already failed. Longer paths go
 * through a short symlink.
 */
const NV_PATH_MAX = 128;

/** Built image paths of each target. */
export function firmwareImage(target: FirmwareTarget, dir = firmwareDir()): string {
  return join(dir, 'build', target === 'host' ? 'h3lix-mcu-host' : 'h3lix-mcu-mps2.elf');
}

/** The mps2-an385 boot stage (QEMU with A/B slots). */
export function bootStageImage(dir = firmwareDir()): string {
  return join(dir, 'build', 'h3lix-boot-mps2.elf');
}

function qemuArgs(o: StartFirmwareOptions, image: string): string[] {
  const base = ['-M', 'mps2-an385', '-display', 'none', '-monitor', 'none', '-serial', 'pty', '-kernel', image];
  // a comma in the path would end the option: QEMU's escape is a doubled comma
  return o.nvFile ? [...base, '-semihosting-config', `enable=on,target=native,arg=${o.nvFile.replace(/,/g, ',,')}`] : base;
}

/**
 * Start the reference firmware and wait until its UART is on a pty linked at `pty`. Host: the process
 * makes the pty and prints `pty /dev/pts/N`. QEMU: `qemu-system-arm -M mps2-an385 -serial pty` prints
 * `char device redirected to /dev/pts/N`, and the link is made here. Fails with SERIAL_UNAVAILABLE naming
 * the reason (image not built: run `npm run firmware`; qemu missing; no pty in time).
 */
export function startFirmware(o: StartFirmwareOptions): Promise<RunningFirmware> {
  const image = o.kernel ?? (o.target === 'qemu' && o.nvFile ? bootStageImage(o.dir) : firmwareImage(o.target, o.dir));
  if (!existsSync(image)) return Promise.reject(new H3lixError('SERIAL_UNAVAILABLE', `firmware image ${image} is not built: run \`npm run firmware\``));
  // The firmware reads the flash file's name through semihosting into a 200-byte buffer
  // (targets/mps2/semihost.c): a longer path is reached through a short symlink, removed on exit.
  let nvLinkDir: string | undefined;
  let qo = o;
  if (o.target === 'qemu' && o.nvFile && Buffer.byteLength(o.nvFile) > NV_PATH_MAX) {
    nvLinkDir = mkdtempSync(join(tmpdir(), 'h3lix-nv-'));
    symlinkSync(resolvePath(o.nvFile), join(nvLinkDir, 'nv'));
    qo = { ...o, nvFile: join(nvLinkDir, 'nv') };
  }
  const child: ChildProcess =
    o.target === 'host'
      ? spawn(image, ['--pty', o.pty, ...(o.flashFile ? ['--flash', o.flashFile] : [])], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(o.qemu ?? 'qemu-system-arm', qemuArgs(qo, image), { stdio: ['ignore', 'pipe', 'pipe'] });
  if (nvLinkDir) child.once('exit', () => rmSync(nvLinkDir, { recursive: true, force: true }));
  const log: string[] = [];
  return new Promise((resolve, reject) => {
    let out = '';
    let settled = false;
    const fail = (msg: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new H3lixError('SERIAL_UNAVAILABLE', `${o.target} firmware: ${msg}`, { detail: { output: out.slice(-500) } }));
    };
    const timer = setTimeout(() => fail(`no pty within ${o.timeoutMs ?? 10_000} ms`), o.timeoutMs ?? 10_000);
    child.once('error', (err) => fail(`cannot start: ${err.message}`));
    const onEarlyExit = (code: number | null, signal: string | null) => fail(`exited (${code ?? signal}) before its pty was ready: ${out.trim().split('\n').pop() ?? ''}`);
    child.once('exit', onEarlyExit);
    const onOutput = (d: Buffer) => {
      out = (out + d.toString()).slice(-4096);
      for (const line of d.toString().split('\n')) if (line.startsWith('h3lix-mcu:')) log.push(line.trim());
      const m = /(?:^pty |char device redirected to )(\/dev\/pts\/\d+)/m.exec(out);
      if (!m || settled) return;
      settled = true;
      clearTimeout(timer);
      child.removeListener('exit', onEarlyExit);
      const exited = new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
      const device = m[1]!;
      // QEMU's pty backend drops traffic while no slave is open and polls for one once a second: hold the
      // slave open for the firmware's lifetime and wait until the image answers before handing it out.
      const hold = o.target === 'qemu' ? openSync(device, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK) : undefined;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        if (hold !== undefined) closeSync(hold);
        try {
          unlinkSync(o.pty);
        } catch {
          // already gone (the host firmware removes its own link)
        }
      };
      const running: RunningFirmware = {
        target: o.target,
        path: o.pty,
        device,
        pid: child.pid!,
        log,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
          release();
        },
        kill: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
          release();
        },
      };
      const ready = o.target === 'qemu' ? waitAnswering(device, o.timeoutMs ?? 10_000) : Promise.resolve();
      ready.then(
        () => {
          // link only once the image answers, so a consumer never opens a silent pty
          if (o.target === 'qemu') {
            try {
              if (existsSync(o.pty)) unlinkSync(o.pty);
              symlinkSync(device, o.pty);
            } catch (err) {
              child.kill('SIGKILL');
              reject(new H3lixError('SERIAL_UNAVAILABLE', `cannot link ${o.pty} → ${device}: ${(err as Error).message}`));
              return;
            }
          }
          resolve(running);
        },
        (err: unknown) => {
          void running.stop();
          reject(new H3lixError('SERIAL_UNAVAILABLE', `${o.target} firmware on ${device} does not answer: ${(err as Error).message}`, { cause: err }));
        },
      );
    };
    child.stdout!.on('data', onOutput);
    child.stderr!.on('data', onOutput);
  });
}

/** Open the pty, PING until the firmware answers (or `timeoutMs`), close. */
async function waitAnswering(path: string, timeoutMs: number): Promise<void> {
  const link = await serialLink({ path, baudRate: 115200 }).open();
  const client = new McuClient({ stream: link.stream, clock: systemClock, timeoutMs: 250, retries: Math.max(1, Math.ceil(timeoutMs / 250)) });
  client.start();
  try {
    await client.ping();
  } finally {
    client.stop();
    await link.close();
  }
}

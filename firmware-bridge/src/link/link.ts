import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { H3lixError } from '../../../src/errors.js';

/**
 * The hardware boundary: something that can be opened into a byte stream. A serial port and a TCP
 * socket to a serial-over-TCP bridge (ser2net, esp-link) both satisfy it; tests inject a
 * `SerialPortMock` through {@link SerialLinkOptions.createPort} or a real socat pty path.
 */
export interface Link {
  /** Human-readable target (`/dev/ttyUSB0 @ 19200`, `tcp 10.0.0.5:4001`). */
  readonly label: string;
  /** Open the link; the stream emits `close` (and maybe `error`) when the device goes away. */
  open(): Promise<OpenLink>;
}

/** An open link: its byte stream, and how to release it (close the fd / socket). */
export interface OpenLink {
  stream: Duplex;
  /** Release the device; resolves when it can be reopened. Safe to call twice or after a disconnect. */
  close(): Promise<void>;
}

/** A port as serialport's `SerialPort` and `SerialPortMock` construct it (autoOpen disabled). */
export interface OpenablePort extends Duplex {
  open(cb: (err: Error | null) => void): void;
  close(cb: (err: Error | null) => void): void;
  readonly isOpen: boolean;
}

/** Options of {@link serialLink}. */
export interface SerialLinkOptions {
  path: string;
  /** Line rate. VE.Direct: 19200 8N1; companion MCU: 115200; EPEver: 115200; Renogy: 9600. */
  baudRate: number;
  /** Port constructor. Default: serialport's `SerialPort` (native binding); tests pass `SerialPortMock`. */
  createPort?: (opts: { path: string; baudRate: number; autoOpen: false }) => OpenablePort;
}

/** A local serial device (any path: `/dev/ttyUSB0`, `/dev/serial/by-id/...`, a pty). 8N1, no flow control. */
export function serialLink(options: SerialLinkOptions): Link {
  return {
    label: `${options.path} @ ${options.baudRate}`,
    open: async () => {
      // serialport (and its native binding) is loaded on first open, not when the daemon starts:
      // a board without a serial energy source never pays its memory.
      const create = options.createPort ?? (await defaultCreatePort());
      return new Promise<OpenLink>((resolve, reject) => {
        let port: OpenablePort;
        try {
          port = create({ path: options.path, baudRate: options.baudRate, autoOpen: false });
        } catch (err) {
          reject(unavailable(options.path, err));
          return;
        }
        port.open((err) => (err ? reject(unavailable(options.path, err)) : resolve({ stream: port, close: () => closePort(port) })));
      });
    },
  };
}

async function defaultCreatePort(): Promise<NonNullable<SerialLinkOptions['createPort']>> {
  const { SerialPort } = await import('serialport');
  return (o) => new SerialPort(o) as unknown as OpenablePort;
}

/** Options of {@link tcpLink}. */
export interface TcpLinkOptions {
  host: string;
  port: number;
  /** Give up connecting after this long. Default 5000 ms. */
  connectTimeoutMs?: number;
}

/** A serial line exported over TCP (ser2net raw mode, esp-link, a socat `tcp-listen`). */
export function tcpLink(options: TcpLinkOptions): Link {
  const label = `tcp ${options.host}:${options.port}`;
  return {
    label,
    open: () =>
      new Promise<OpenLink>((resolve, reject) => {
        const socket = connect({ host: options.host, port: options.port });
        socket.setNoDelay(true);
        socket.setTimeout(options.connectTimeoutMs ?? 5000, () => socket.destroy(new Error('connect timeout')));
        socket.once('connect', () => {
          socket.setTimeout(0);
          socket.removeListener('error', onError);
          resolve({
            stream: socket,
            close: () =>
              new Promise<void>((done) => {
                if (socket.closed) return done();
                socket.once('close', () => done());
                socket.destroy();
              }),
          });
        });
        const onError = (err: Error) => reject(unavailable(label, err));
        socket.once('error', onError);
      }),
  };
}

/** serialport's stream does not close the device on destroy(): close it explicitly (releases the lock/fd). */
function closePort(port: OpenablePort): Promise<void> {
  port.on('error', () => undefined); // late errors of a dead port must not crash the process
  if (!port.isOpen) return Promise.resolve();
  return new Promise<void>((resolve) => port.close(() => resolve()));
}

function unavailable(target: string, err: unknown): H3lixError {
  const code = (err as { code?: string }).code;
  const msg = err instanceof Error ? err.message : String(err);
  return new H3lixError('SERIAL_UNAVAILABLE', `cannot open ${target}: ${code ? `${code} ` : ''}${msg}`, { cause: err, retryable: true, detail: { code } });
}

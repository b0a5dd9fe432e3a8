import type { Duplex } from 'node:stream';
import { H3lixError, WireError, describeError } from '../../../src/errors.js';
import type { Clock } from '../../../src/util/clock.js';
import { TypedEvents } from '../../../src/util/events.js';
import { CobsFramer, type CobsReject } from './framing.js';
import { decodeInfo, decodeReading, encodeU32, expectLength, MAX_INTERVAL_MS, MIN_INTERVAL_MS, type McuInfo, type McuReading } from './messages.js';
import { decodePacket, encodeFrame, MsgType, msgTypeName, NackReason, type McuPacket } from './protocol.js';
import { decodeShutdownNotice, type ShutdownNotice } from './power-messages.js';
import { Queue } from './queue.js';
import { Waitress } from './waitress.js';

export interface McuClientEvents {
  /** An unsolicited READING (seq 0) or the answer to GET_READING. */
  reading: (reading: McuReading) => void;
  /** An unsolicited SHUTDOWN_NOTICE (seq 0): the MCU asks the host to shut down (power protocol). */
  notice: (notice: ShutdownNotice) => void;
  /** A frame that failed a check, or arrived when nobody expected it. */
  reject: (reason: string, detail: string) => void;
}

/** Options of {@link McuClient}. */
export interface McuClientOptions {
  stream: Duplex;
  clock: Clock;
  /** Time to wait for each attempt's response. Default 300 ms. */
  timeoutMs?: number;
  /** Extra attempts after a timeout (same seq, so a late answer still counts). Default 2. */
  retries?: number;
}

interface Matcher {
  seq: number;
  types: number[];
}

/**
 * Host side of the companion-MCU protocol (protocol layer over {@link CobsFramer}): requests go
 * through a {@link Queue} (one outstanding request), responses are matched by seq + type through a
 * {@link Waitress}; a timed-out attempt is re-sent up to `retries` times with the same seq.
 */
export class McuClient {
  readonly events = new TypedEvents<McuClientEvents>();
  readonly stats = { sent: 0, retries: 0, timeouts: 0, frames: 0, rejects: 0 };
  private readonly opts: McuClientOptions;
  private readonly framer = new CobsFramer();
  private readonly queue = new Queue(1);
  private readonly waitress: Waitress<McuPacket, Matcher>;
  private seq = 0;
  private started = false;

  constructor(options: McuClientOptions) {
    this.opts = options;
    this.waitress = new Waitress<McuPacket, Matcher>(
      options.clock,
      (p, m) => p.seq === m.seq && m.types.includes(p.type),
      (m, ms) => `no ${m.types.map(msgTypeName).join('/')} for seq ${m.seq} within ${ms} ms`,
    );
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.framer.on('data', (frame: Buffer) => this.onFrame(frame));
    this.framer.on('reject', (r: CobsReject) => this.reject(r.reason, r.detail));
    this.opts.stream.pipe(this.framer);
  }

  stop(): void {
    if (!this.started) return;
    this.started = false;
    this.opts.stream.unpipe(this.framer);
    this.framer.removeAllListeners();
    this.framer.destroy();
    this.waitress.rejectAll(new H3lixError('SERIAL_UNAVAILABLE', 'MCU client stopped', { retryable: true }));
  }

  /**
   * Send `type` with `payload`, resolve with the response packet (one of `expect` or NACK → error).
   * `timeoutMs` overrides the client's per-attempt timeout for a request the device takes long to answer.
   */
  request(type: number, payload: Buffer, expect: number[], timeoutMs?: number): Promise<McuPacket> {
    return this.queue.execute(async () => {
      this.seq = this.seq >= 0xffff ? 1 : this.seq + 1; // seq 0 is reserved for unsolicited frames
      const seq = this.seq;
      const frame = encodeFrame(type, seq, payload);
      const attempts = 1 + (this.opts.retries ?? 2);
      for (let attempt = 1; ; attempt++) {
        const wait = this.waitress.waitFor({ seq, types: [...expect, MsgType.NACK] }, timeoutMs ?? this.opts.timeoutMs ?? 300);
        this.stats.sent++;
        if (attempt > 1) this.stats.retries++;
        this.opts.stream.write(frame);
        try {
          const res = await wait.promise;
          if (res.type === MsgType.NACK) throw nackError(type, res);
          return res;
        } catch (err) {
          if (!(err instanceof H3lixError) || err.code !== 'REQUEST_TIMEOUT') throw err;
          this.stats.timeouts++;
          if (attempt >= attempts) throw new H3lixError('REQUEST_TIMEOUT', `${msgTypeName(type)} unanswered after ${attempts} attempts: ${err.message}`, { retryable: true });
        }
      }
    });
  }

  async ping(data: Buffer = Buffer.alloc(0)): Promise<Buffer> {
    const res = await this.request(MsgType.PING, data, [MsgType.PONG]);
    if (!res.payload.equals(data)) throw new WireError('FRAME_MALFORMED', 'PONG payload differs from PING payload');
    return res.payload;
  }

  async getInfo(): Promise<McuInfo> {
    return decodeInfo((await this.request(MsgType.GET_INFO, Buffer.alloc(0), [MsgType.INFO])).payload);
  }

  async getReading(): Promise<McuReading> {
    return decodeReading((await this.request(MsgType.GET_READING, Buffer.alloc(0), [MsgType.READING])).payload);
  }

  async setSampleInterval(ms: number): Promise<void> {
    if (!Number.isInteger(ms) || ms < MIN_INTERVAL_MS || ms > MAX_INTERVAL_MS) {
      throw new H3lixError('DATA_INVALID', `sample interval must be an integer ${MIN_INTERVAL_MS}..${MAX_INTERVAL_MS} ms, got ${ms}`);
    }
    await this.request(MsgType.SET_SAMPLE_INTERVAL, encodeU32(ms), [MsgType.ACK]);
  }

  async setLoad(channel: number, on: boolean): Promise<void> {
    await this.request(MsgType.SET_LOAD, Buffer.from([channel & 0xff, on ? 1 : 0]), [MsgType.ACK]);
  }

  private onFrame(frame: Buffer): void {
    let packet: McuPacket;
    try {
      packet = decodePacket(frame);
    } catch (err) {
      this.reject(err instanceof H3lixError ? err.code.toLowerCase() : 'malformed', describeError(err));
      return;
    }
    this.stats.frames++;
    if (packet.seq !== 0 && this.waitress.resolve(packet)) return;
    if (packet.type === MsgType.READING && packet.seq === 0) {
      try {
        this.events.emit('reading', decodeReading(packet.payload));
      } catch (err) {
        this.reject('bad-reading', describeError(err));
      }
      return;
    }
    if (packet.type === MsgType.SHUTDOWN_NOTICE && packet.seq === 0) {
      try {
        this.events.emit('notice', decodeShutdownNotice(packet.payload));
      } catch (err) {
        this.reject('bad-notice', describeError(err));
      }
      return;
    }
    this.reject('unexpected', `${msgTypeName(packet.type)} seq ${packet.seq} matched no request`);
  }

  private reject(reason: string, detail: string): void {
    this.stats.rejects++;
    this.events.emit('reject', reason, detail);
  }
}

function nackError(type: number, res: McuPacket): H3lixError {
  expectLength('NACK', res.payload, 2);
  const reason = Object.entries(NackReason).find(([, v]) => v === res.payload[1])?.[0] ?? `code ${res.payload[1]}`;
  return new H3lixError('COMMAND_REFUSED', `device refused ${msgTypeName(type)}: ${reason.toLowerCase().replace(/_/g, '-')}`, { detail: { nack: res.payload[1] } });
}

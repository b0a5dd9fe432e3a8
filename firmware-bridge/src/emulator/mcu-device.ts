import type { Duplex } from 'node:stream';
import type { Clock, TimerHandle } from '../../../src/util/clock.js';
import { CobsFramer } from '../mcu/framing.js';
import { encodeInfo, encodeReading, MAX_INTERVAL_MS, MIN_INTERVAL_MS, type McuInfo, type McuReading } from '../mcu/messages.js';
import { decodePacket, encodeFrame, MCU_PROTOCOL_VERSION, MsgType, NackReason, type McuPacket } from '../mcu/protocol.js';

/** Options of {@link McuDevice}. */
export interface McuDeviceOptions {
  stream: Duplex;
  clock: Clock;
  /** The current measurement. */
  sample: () => McuReading;
  /** Streaming interval at start. Default 1000 ms; 0 = do not stream (answer GET_READING only). */
  sampleIntervalMs?: number;
  /** Identity reported by INFO. Default firmware 1.0.0, INA226, name "h3lix-emu". */
  name?: string;
  /** Load switch changes (SET_LOAD). */
  onLoad?: (channel: number, on: boolean) => void;
}

/** Device side of the companion-MCU protocol, as firmware implements it (used by the emulator and tests). */
export class McuDevice {
  readonly loads = new Map<number, boolean>();
  private readonly opts: McuDeviceOptions;
  private readonly framer = new CobsFramer();
  private interval: number;
  private timer: TimerHandle | undefined;
  private readonly startedAt: number;

  constructor(options: McuDeviceOptions) {
    this.opts = options;
    this.interval = options.sampleIntervalMs ?? 1000;
    this.startedAt = options.clock.monotonic();
  }

  start(): void {
    this.framer.on('data', (frame: Buffer) => this.onFrame(frame));
    this.opts.stream.pipe(this.framer);
    this.schedule();
  }

  stop(): void {
    if (this.timer) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.opts.stream.unpipe(this.framer);
    this.framer.destroy();
  }

  get sampleIntervalMs(): number {
    return this.interval;
  }

  private schedule(): void {
    if (this.timer) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.interval <= 0) return;
    this.timer = this.opts.clock.setTimeout(() => {
      this.send(MsgType.READING, 0, encodeReading(this.opts.sample()));
      this.schedule();
    }, this.interval);
  }

  private send(type: number, seq: number, payload?: Buffer): void {
    if (!this.opts.stream.writable) return;
    this.opts.stream.write(encodeFrame(type, seq, payload));
  }

  private onFrame(frame: Buffer): void {
    let p: McuPacket;
    try {
      p = decodePacket(frame, { anyVersion: true });
    } catch {
      return; // firmware drops bad frames silently; the host retries
    }
    const nack = (reason: number) => this.send(MsgType.NACK, p.seq, Buffer.from([p.type, reason]));
    const ack = () => this.send(MsgType.ACK, p.seq, Buffer.from([p.type]));
    if (p.version !== MCU_PROTOCOL_VERSION) return nack(NackReason.BAD_VERSION);
    switch (p.type) {
      case MsgType.PING:
        return this.send(MsgType.PONG, p.seq, p.payload);
      case MsgType.GET_INFO: {
        const info: McuInfo = { firmware: '1.0.0', sensor: 'INA226', sampleIntervalMs: this.interval, uptimeSeconds: Math.floor((this.opts.clock.monotonic() - this.startedAt) / 1000), name: this.opts.name ?? 'h3lix-emu' };
        return this.send(MsgType.INFO, p.seq, encodeInfo(info));
      }
      case MsgType.GET_READING:
        return this.send(MsgType.READING, p.seq, encodeReading(this.opts.sample()));
      case MsgType.SET_SAMPLE_INTERVAL: {
        if (p.payload.length !== 4) return nack(NackReason.BAD_LENGTH);
        const ms = p.payload.readUInt32LE(0);
        if (ms < MIN_INTERVAL_MS || ms > MAX_INTERVAL_MS) return nack(NackReason.OUT_OF_RANGE);
        this.interval = ms;
        ack();
        return this.schedule();
      }
      case MsgType.SET_LOAD: {
        if (p.payload.length !== 2 || p.payload[1]! > 1) return nack(NackReason.BAD_LENGTH);
        this.loads.set(p.payload[0]!, p.payload[1] === 1);
        this.opts.onLoad?.(p.payload[0]!, p.payload[1] === 1);
        return ack();
      }
      default:
        return nack(NackReason.UNKNOWN_TYPE);
    }
  }
}

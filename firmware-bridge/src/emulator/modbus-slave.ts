import type { Duplex } from 'node:stream';
import { modbusCrc, withModbusCrc } from '../modbus/crc.js';

/** Options of {@link ModbusSlave}. */
export interface ModbusSlaveOptions {
  stream: Duplex;
  /** Slave id answered. Default 1. */
  unit?: number;
  /** Register value for FC 3 (holding) / FC 4 (input) at `address`, or undefined → exception 02. */
  register: (fc: 3 | 4, address: number) => number | undefined;
}

/**
 * A minimal Modbus RTU slave (FC 3 and 4; others → exception 01 "illegal function"), enough to
 * stand in for a charge controller on a pty. Requests are 8 bytes with a CRC; a bad CRC shifts one
 * byte to resynchronise, as a real slave waiting for the next 3.5-char gap would discard the frame.
 */
export class ModbusSlave {
  requests = 0;
  private buf = Buffer.alloc(0);
  private readonly onData = (chunk: Buffer) => this.receive(chunk);

  constructor(private readonly opts: ModbusSlaveOptions) {}

  start(): void {
    this.opts.stream.on('data', this.onData);
  }

  stop(): void {
    this.opts.stream.removeListener('data', this.onData);
  }

  private receive(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    while (this.buf.length >= 8) {
      if (modbusCrc(this.buf, 0, 6) !== this.buf.readUInt16LE(6)) {
        this.buf = this.buf.subarray(1);
        continue;
      }
      const req = this.buf.subarray(0, 8);
      this.buf = this.buf.subarray(8);
      this.answer(req);
    }
  }

  private answer(req: Buffer): void {
    const unit = req[0]!;
    if (unit !== (this.opts.unit ?? 1)) return; // not addressed to us: stay silent
    this.requests++;
    const fc = req[1]!;
    const exception = (code: number) => this.send(withModbusCrc(Buffer.from([unit, fc | 0x80, code])));
    if (fc !== 3 && fc !== 4) return exception(0x01);
    const address = req.readUInt16BE(2);
    const count = req.readUInt16BE(4);
    if (count < 1 || count > 125) return exception(0x03);
    const body = Buffer.alloc(3 + count * 2);
    body[0] = unit;
    body[1] = fc;
    body[2] = count * 2;
    for (let i = 0; i < count; i++) {
      const v = this.opts.register(fc, address + i);
      if (v === undefined) return exception(0x02);
      body.writeUInt16BE(v & 0xffff, 3 + i * 2);
    }
    this.send(withModbusCrc(body));
  }

  private send(frame: Buffer): void {
    if (this.opts.stream.writable) this.opts.stream.write(frame);
  }
}

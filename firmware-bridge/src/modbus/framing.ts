import { Transform, type TransformCallback } from 'node:stream';

/**
 * Framing for Modbus RTU responses (Modbus over Serial Line v1.02 §2.5.1). RTU delimits frames by
 * 3.5 character times of silence, which a pty or TCP bridge does not preserve, so frames are cut by
 * length instead: after {@link expect}(unit, fc) the framer looks for `unit fc` (or `unit fc|0x80`, an
 * exception: 5 bytes) and pushes `3 + byteCount + 2` bytes for FC 1-4, 8 bytes for FC 5/6/15/16.
 * Bytes before a match, or with no request outstanding, are dropped and counted.
 */
export class ModbusRtuResponseFramer extends Transform {
  dropped = 0;
  private buf = Buffer.alloc(0);
  private unit = -1;
  private fc = -1;

  constructor(private readonly maxBuffer = 512) {
    super();
  }

  /** Arm for the response to a request just sent. */
  expect(unit: number, fc: number): void {
    this.dropped += this.buf.length;
    this.buf = Buffer.alloc(0);
    this.unit = unit;
    this.fc = fc;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.unit < 0) {
      this.dropped += chunk.length;
      return done();
    }
    this.buf = Buffer.concat([this.buf, chunk]);
    if (this.sync() && this.buf.length >= 3) {
      const len = this.frameLength();
      if (this.buf.length >= len) {
        this.push(Buffer.from(this.buf.subarray(0, len)));
        this.dropped += this.buf.length - len;
        this.buf = Buffer.alloc(0);
        this.unit = -1;
        this.fc = -1;
      }
    }
    if (this.buf.length > this.maxBuffer) {
      this.dropped += this.buf.length;
      this.buf = Buffer.alloc(0);
    }
    done();
  }

  /** Trim bytes before the first `unit fc` pair; keep a trailing `unit` that may begin one. */
  private sync(): boolean {
    for (let i = 0; i + 1 < this.buf.length; i++) {
      if (this.buf[i] === this.unit && (this.buf[i + 1] === this.fc || this.buf[i + 1] === (this.fc | 0x80))) {
        this.dropped += i;
        this.buf = this.buf.subarray(i);
        return true;
      }
    }
    const keep = this.buf.length > 0 && this.buf[this.buf.length - 1] === this.unit ? 1 : 0;
    this.dropped += this.buf.length - keep;
    this.buf = this.buf.subarray(this.buf.length - keep);
    return false;
  }

  private frameLength(): number {
    if (this.buf[1]! & 0x80) return 5;
    if (this.fc >= 1 && this.fc <= 4) return 5 + this.buf[2]!;
    return 8;
  }
}

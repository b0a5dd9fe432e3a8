import { Transform, type TransformCallback } from 'node:stream';
import { describeError } from '../../../src/errors.js';
import { cobsDecode } from './cobs.js';

/** Options of {@link CobsFramer}. */
export interface CobsFramerOptions {
  /** Largest encoded frame (without delimiter) accepted; longer runs are dropped. Default 256. */
  maxFrame?: number;
}

export interface CobsReject {
  reason: 'oversize' | 'cobs';
  detail: string;
}

/**
 * Framing for the companion-MCU link: splits the byte stream on 0x00 delimiters, COBS-decodes each
 * frame and pushes it as one Buffer (so a packet parser can chain after it). Empty frames (back-to-back
 * delimiters, used by firmware to resynchronise) are ignored; malformed or oversize frames emit `reject`.
 */
export class CobsFramer extends Transform {
  readonly rejects = { oversize: 0, cobs: 0 };
  private readonly maxFrame: number;
  private buf: Buffer;
  private len = 0;
  private overflowed = false;

  constructor(options: CobsFramerOptions = {}) {
    super();
    this.maxFrame = options.maxFrame ?? 256;
    this.buf = Buffer.alloc(this.maxFrame);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(0, start);
      const stop = end < 0 ? chunk.length : end;
      this.append(chunk, start, stop);
      if (end < 0) break;
      this.flushFrame();
      start = end + 1;
    }
    done();
  }

  private append(chunk: Buffer, start: number, stop: number): void {
    const n = stop - start;
    if (n === 0 || this.overflowed) return;
    if (this.len + n > this.maxFrame) {
      this.overflowed = true;
      return;
    }
    chunk.copy(this.buf, this.len, start, stop);
    this.len += n;
  }

  private flushFrame(): void {
    if (this.overflowed) {
      this.reject('oversize', `frame longer than ${this.maxFrame} bytes before a 0x00 delimiter`);
    } else if (this.len > 0) {
      try {
        this.push(Buffer.from(cobsDecode(this.buf.subarray(0, this.len))));
      } catch (err) {
        this.reject('cobs', describeError(err));
      }
    }
    this.len = 0;
    this.overflowed = false;
  }

  private reject(reason: CobsReject['reason'], detail: string): void {
    this.rejects[reason]++;
    this.emit('reject', { reason, detail } satisfies CobsReject);
  }
}

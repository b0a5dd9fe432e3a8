import { Transform, type TransformCallback } from 'node:stream';

/** One checked VE.Direct TEXT block: its fields in wire order (the `Checksum` field excluded). */
export interface VeDirectFrame {
  fields: Array<[label: string, value: string]>;
  /** Bytes the block occupied on the wire (HEX frames inside it excluded). */
  bytes: number;
}

/** Why bytes were discarded. */
export type VeDirectRejectReason =
  /** A block that began before the parser synchronised (start-up, after garbage or a resync). */
  | 'partial-block'
  /** A complete block whose byte sum was not 0 mod 256: nothing from it is committed. */
  | 'checksum'
  /** A label, value, block or HEX frame exceeded its bound; the parser resynchronises. */
  | 'oversize';

export interface VeDirectReject {
  reason: VeDirectRejectReason;
  detail: string;
}

/** Options of {@link VeDirectTextParser}. */
export interface VeDirectTextParserOptions {
  /** Longest label accepted. Default 16 (VE.Direct spec: 9). */
  maxLabel?: number;
  /** Longest value accepted. Default 64 (VE.Direct spec: 33). */
  maxValue?: number;
  /** Most bytes one block may span. Default 2048 (spec: 22 fields of ≤ 45 bytes ≈ 1 KiB). */
  maxBlockBytes?: number;
  /** Longest interleaved HEX frame skipped. Default 512. */
  maxHexBytes?: number;
}

const CR = 0x0d;
const LF = 0x0a;
const TAB = 0x09;
const COLON = 0x3a;

type State = 'idle' | 'begin' | 'name' | 'value' | 'checksum' | 'hex';

/**
 * Framing for the Victron VE.Direct TEXT protocol (VE.Direct Protocol v3.3, "Text-mode"): a block is a
 * run of `\r\n<label>\t<value>` fields closed by a `Checksum` field whose single raw byte makes the
 * sum of every byte of the block 0 mod 256. That byte may be any value, including `\r`, `\n`, `\t`
 * or `:`. `:`-prefixed HEX frames ending in `\n` may be interleaved anywhere and are excluded from
 * the sum ("hex frames may be sent asynchronously"), except that a `:` in the checksum position is
 * the checksum. Pushes one {@link VeDirectFrame} per block whose checksum passes; a failing block
 * commits nothing and emits `reject`. All buffers are bounded.
 *
 * The state machine mirrors Victron's reference `framehandler.cpp` (IDLE, RECORD_BEGIN, RECORD_NAME,
 * RECORD_VALUE, CHECKSUM, RECORD_HEX).
 */
export class VeDirectTextParser extends Transform {
  /** Rejections by reason since creation. */
  readonly rejects: Record<VeDirectRejectReason, number> = { 'partial-block': 0, checksum: 0, oversize: 0 };
  /** Blocks pushed. */
  framesOut = 0;
  /** HEX frames skipped. */
  hexFrames = 0;

  private readonly maxLabel: number;
  private readonly maxValue: number;
  private readonly maxBlockBytes: number;
  private readonly maxHexBytes: number;
  private state: State = 'idle';
  private hexReturn: State = 'idle';
  private hexLen = 0;
  private sum = 0;
  private blockBytes = 0;
  private label = '';
  private value = '';
  private fields: Array<[string, string]> = [];
  /**
   * Where the current block began: at the start of the stream (`start`: commit it only if it passes,
   * a failure is a start-up partial), after a checksum byte (`synced`), or after a resync (`lost`:
   * never commit, the block's head is gone).
   */
  private sync: 'start' | 'synced' | 'lost' = 'start';
  /** Non-CR/LF bytes seen before the first field of the current block. */
  private leadingGarbage = 0;
  /** The previous byte outside HEX frames (a block begins at "\r\n"). */
  private prev = -1;

  constructor(options: VeDirectTextParserOptions = {}) {
    super({ readableObjectMode: true });
    this.maxLabel = options.maxLabel ?? 16;
    this.maxValue = options.maxValue ?? 64;
    this.maxBlockBytes = options.maxBlockBytes ?? 2048;
    this.maxHexBytes = options.maxHexBytes ?? 512;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    for (let i = 0; i < chunk.length; i++) this.byte(chunk[i]!);
    done();
  }

  private byte(b: number): void {
    // VE.Direct: a ':' starts a HEX frame anywhere except in the checksum position.
    if (b === COLON && this.state !== 'checksum' && this.state !== 'hex') {
      this.hexReturn = this.state;
      this.state = 'hex';
      this.hexLen = 1;
      return;
    }
    if (this.state === 'hex') {
      if (b === LF) {
        this.hexFrames++;
        this.state = this.hexReturn;
      } else if (++this.hexLen > this.maxHexBytes) {
        this.resync('oversize', `HEX frame longer than ${this.maxHexBytes} bytes`);
      }
      return;
    }
    const prev = this.prev;
    this.prev = b;
    this.sum = (this.sum + b) & 0xff;
    if (++this.blockBytes > this.maxBlockBytes) {
      this.resync('oversize', `block longer than ${this.maxBlockBytes} bytes`);
      return;
    }
    switch (this.state) {
      case 'idle':
        if (b === LF) this.beginAt(prev);
        else if (b !== CR) this.leadingGarbage++;
        return;
      case 'begin':
        // Before the first field a block may still start over: the bytes before this "\r\n" were the
        // tail of a block cut at port open (e.g. "sum\t<byte>"), not part of the block that follows.
        if (this.fields.length === 0 && b === LF) return this.beginAt(prev);
        if (this.fields.length === 0 && b === CR) return;
        this.label = String.fromCharCode(b);
        this.state = 'name';
        return;
      case 'name':
        if (b === TAB) {
          if (this.label === 'Checksum') this.state = 'checksum';
          else {
            this.value = '';
            this.state = 'value';
          }
        } else if (this.label.length >= this.maxLabel) {
          this.resync('oversize', `label longer than ${this.maxLabel} bytes`);
        } else this.label += String.fromCharCode(b);
        return;
      case 'value':
        if (b === LF) {
          this.fields.push([this.label, this.value]);
          this.state = 'begin';
        } else if (b === CR) {
          // VE.Direct: "\r\n" separates fields; the CR is part of the sum but not of the value.
        } else if (this.value.length >= this.maxValue) {
          this.resync('oversize', `value of ${this.label} longer than ${this.maxValue} bytes`);
        } else this.value += String.fromCharCode(b);
        return;
      case 'checksum':
        this.endBlock();
        return;
    }
  }

  /**
   * A block begins at this LF (and the CR before it): its byte sum starts here. Stray bytes before it
   * stay counted in `leadingGarbage` (they decide the reject reason) but not in the sum, so a whole
   * block after a partial one at port open passes its own checksum (issue 13 item 6).
   */
  private beginAt(prev: number): void {
    this.sum = (LF + (prev === CR ? CR : 0)) & 0xff;
    this.blockBytes = prev === CR ? 2 : 1;
    this.state = 'begin';
  }

  private endBlock(): void {
    const ok = this.sum === 0;
    if (ok && this.sync !== 'lost') {
      this.framesOut++;
      this.push({ fields: this.fields, bytes: this.blockBytes } satisfies VeDirectFrame);
    } else if (this.sync !== 'synced' || this.leadingGarbage > 0) {
      this.reject('partial-block', `block began before synchronisation (${this.leadingGarbage} stray bytes, ${this.fields.length} fields discarded)`);
    } else {
      this.reject('checksum', `byte sum ${this.sum} != 0 mod 256 over ${this.blockBytes} bytes; ${this.fields.length} fields discarded`);
    }
    this.sync = 'synced';
    this.reset();
  }

  private resync(reason: VeDirectRejectReason, detail: string): void {
    this.reject(reason, detail);
    this.sync = 'lost';
    this.reset();
  }

  private reset(): void {
    this.state = 'idle';
    this.prev = -1;
    this.sum = 0;
    this.blockBytes = 0;
    this.leadingGarbage = 0;
    this.fields = [];
    this.label = '';
    this.value = '';
  }

  private reject(reason: VeDirectRejectReason, detail: string): void {
    this.rejects[reason]++;
    this.emit('reject', { reason, detail } satisfies VeDirectReject);
  }
}

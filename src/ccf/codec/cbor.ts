import { WireError } from '../../errors.js';

/**
 * A minimal, strict, deterministic CBOR (RFC 8949) subset, written here instead of using cbor-x so
 * that every rejection maps to a precise WireError and encoding is canonical by construction.
 *
 * Supported: unsigned/negative integers within JS safe range, byte strings, UTF-8 text strings,
 * definite-length arrays and maps with text keys (written in the caller's order), float32/float64,
 * false/true/null. Not supported (rejected on decode): tags, indefinite lengths, undefined,
 * simple values, integers beyond 2^53-1, duplicate or non-text map keys.
 * Integers and lengths are always written in the shortest form (RFC 8949 section 4.2.1).
 */

/** A float that must be written as a CBOR float32 (major 7, additional info 26). */
export class Float32Value {
  constructor(readonly value: number) {}
}

export type CborValue = number | string | boolean | null | Uint8Array | Float32Value | CborValue[] | CborMap;
/** A map is a list of [key, value] pairs so key order is explicit (canonical = caller's fixed order). */
export interface CborMap {
  readonly entries: ReadonlyArray<readonly [string, CborValue]>;
}

export function cborMap(entries: ReadonlyArray<readonly [string, CborValue]>): CborMap {
  return { entries };
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** Growable byte writer. */
export class CborWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Major type + argument in the shortest form. `arg` must be a safe non-negative integer. */
  head(major: number, arg: number): void {
    const m = major << 5;
    if (arg < 24) {
      this.ensure(1);
      this.buf[this.pos++] = m | arg;
    } else if (arg < 0x100) {
      this.ensure(2);
      this.buf[this.pos++] = m | 24;
      this.buf[this.pos++] = arg;
    } else if (arg < 0x10000) {
      this.ensure(3);
      this.buf[this.pos++] = m | 25;
      this.view.setUint16(this.pos, arg);
      this.pos += 2;
    } else if (arg < 0x100000000) {
      this.ensure(5);
      this.buf[this.pos++] = m | 26;
      this.view.setUint32(this.pos, arg);
      this.pos += 4;
    } else {
      this.ensure(9);
      this.buf[this.pos++] = m | 27;
      this.view.setUint32(this.pos, Math.floor(arg / 0x100000000));
      this.view.setUint32(this.pos + 4, arg >>> 0);
      this.pos += 8;
    }
  }

  int(v: number): void {
    if (!Number.isSafeInteger(v)) throw new WireError('WIRE_TYPE', `cannot encode ${v} as a CBOR integer`);
    if (v >= 0) this.head(0, v);
    else this.head(1, -1 - v);
  }

  bytes(b: Uint8Array): void {
    this.head(2, b.length);
    this.raw(b);
  }

  text(s: string): void {
    const b = textEncoder.encode(s);
    this.head(3, b.length);
    this.raw(b);
  }

  float32(v: number): void {
    this.ensure(5);
    this.buf[this.pos++] = 0xfa;
    this.view.setFloat32(this.pos, v);
    this.pos += 4;
  }

  float64(v: number): void {
    this.ensure(9);
    this.buf[this.pos++] = 0xfb;
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  value(v: CborValue): void {
    if (typeof v === 'number') {
      if (Number.isSafeInteger(v)) this.int(v);
      else this.float64(v);
    } else if (typeof v === 'string') this.text(v);
    else if (typeof v === 'boolean') this.head(7, v ? 21 : 20);
    else if (v === null) this.head(7, 22);
    else if (v instanceof Uint8Array) this.bytes(v);
    else if (v instanceof Float32Value) this.float32(v.value);
    else if (Array.isArray(v)) {
      this.head(4, v.length);
      for (const item of v) this.value(item);
    } else {
      this.head(5, v.entries.length);
      for (const [k, item] of v.entries) {
        this.text(k);
        this.value(item);
      }
    }
  }

  /** A copy of the bytes written so far. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

export function encodeCbor(v: CborValue): Uint8Array {
  const w = new CborWriter();
  w.value(v);
  return w.finish();
}

/** Decoded values: maps become null-prototype records (keys unique), byte strings are views. */
export type Decoded = number | string | boolean | null | Uint8Array | Decoded[] | DecodedMap;
export interface DecodedMap {
  [key: string]: Decoded;
}

export interface CborDecodeLimits {
  /** Maximum nesting depth. Default 8. */
  maxDepth?: number;
  /**
   * Canonical mode: reject integer/length heads not in the shortest form (WIRE_MALFORMED) and any
   * float (WIRE_TYPE), so the bytes are the only encoding of the decoded value. Default false.
   */
  canonical?: boolean;
}

class Reader {
  pos = 0;
  private readonly view: DataView;
  constructor(
    private readonly buf: Uint8Array,
    private readonly maxDepth: number,
    private readonly canonical: boolean,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) {
      throw new WireError('WIRE_TRUNCATED', `CBOR ${what} needs ${n} bytes at offset ${this.pos}, only ${this.buf.length - this.pos} left`);
    }
  }

  private shortest(v: number, min: number): number {
    if (this.canonical && v < min) throw new WireError('WIRE_MALFORMED', `CBOR head before offset ${this.pos} is not in the shortest form (canonical encoding required)`);
    return v;
  }

  private arg(ai: number): number {
    if (ai < 24) return ai;
    if (ai === 24) {
      this.need(1, 'argument');
      return this.shortest(this.buf[this.pos++]!, 24);
    }
    if (ai === 25) {
      this.need(2, 'argument');
      const v = this.view.getUint16(this.pos);
      this.pos += 2;
      return this.shortest(v, 0x100);
    }
    if (ai === 26) {
      this.need(4, 'argument');
      const v = this.view.getUint32(this.pos);
      this.pos += 4;
      return this.shortest(v, 0x10000);
    }
    if (ai === 27) {
      this.need(8, 'argument');
      const hi = this.view.getUint32(this.pos);
      const lo = this.view.getUint32(this.pos + 4);
      this.pos += 8;
      if (hi >= 0x200000) throw new WireError('WIRE_TYPE', `CBOR integer at offset ${this.pos - 9} exceeds 2^53-1`);
      return this.shortest(hi * 0x100000000 + lo, 0x100000000);
    }
    if (ai === 31) throw new WireError('WIRE_MALFORMED', `CBOR indefinite length at offset ${this.pos - 1} is not supported`);
    throw new WireError('WIRE_MALFORMED', `CBOR reserved additional info ${ai} at offset ${this.pos - 1}`);
  }

  item(depth: number): Decoded {
    if (depth > this.maxDepth) throw new WireError('WIRE_MALFORMED', `CBOR nesting deeper than ${this.maxDepth}`);
    this.need(1, 'item');
    const start = this.pos;
    const ib = this.buf[this.pos++]!;
    const major = ib >> 5;
    const ai = ib & 31;
    switch (major) {
      case 0:
        return this.arg(ai);
      case 1:
        return -1 - this.arg(ai);
      case 2: {
        const n = this.arg(ai);
        this.need(n, 'byte string');
        const b = this.buf.subarray(this.pos, this.pos + n);
        this.pos += n;
        return b;
      }
      case 3: {
        const n = this.arg(ai);
        this.need(n, 'text string');
        const b = this.buf.subarray(this.pos, this.pos + n);
        this.pos += n;
        try {
          return textDecoder.decode(b);
        } catch (cause) {
          throw new WireError('WIRE_MALFORMED', `CBOR text string at offset ${start} is not valid UTF-8`, { cause });
        }
      }
      case 4: {
        const n = this.arg(ai);
        // every item takes at least one byte: a huge count on a short buffer is a truncation
        this.need(n, 'array');
        const out: Decoded[] = new Array<Decoded>(n);
        for (let i = 0; i < n; i++) out[i] = this.item(depth + 1);
        return out;
      }
      case 5: {
        const n = this.arg(ai);
        this.need(n * 2, 'map');
        const out = Object.create(null) as DecodedMap;
        for (let i = 0; i < n; i++) {
          const keyAt = this.pos;
          const k = this.item(depth + 1);
          if (typeof k !== 'string') throw new WireError('WIRE_MALFORMED', `CBOR map key at offset ${keyAt} is not a text string`);
          if (Object.prototype.hasOwnProperty.call(out, k)) throw new WireError('WIRE_MALFORMED', `CBOR map has duplicate key ${JSON.stringify(k)}`);
          out[k] = this.item(depth + 1);
        }
        return out;
      }
      case 6:
        throw new WireError('WIRE_MALFORMED', `CBOR tag at offset ${start} is not supported`);
      default:
        return this.simple(ai, start);
    }
  }

  private simple(ai: number, start: number): Decoded {
    // canonical mode is used for structures without floats: a float is a field of the wrong type
    if (this.canonical && ai >= 25 && ai <= 27) throw new WireError('WIRE_TYPE', `CBOR float at offset ${start}: no field of this structure is a float`);
    switch (ai) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 25: {
        this.need(2, 'float16');
        const v = halfBitsToNumber(this.view.getUint16(this.pos));
        this.pos += 2;
        return v;
      }
      case 26: {
        this.need(4, 'float32');
        const v = this.view.getFloat32(this.pos);
        this.pos += 4;
        return v;
      }
      case 27: {
        this.need(8, 'float64');
        const v = this.view.getFloat64(this.pos);
        this.pos += 8;
        return v;
      }
      default:
        throw new WireError('WIRE_MALFORMED', `CBOR simple value ${ai} at offset ${start} is not supported`);
    }
  }
}

/**
 * Decode exactly one CBOR item filling all of `bytes`. Throws only WireError: WIRE_TRUNCATED when the
 * input ends early, WIRE_MALFORMED for invalid or unsupported CBOR and trailing bytes, WIRE_TYPE for
 * integers beyond the safe range.
 */
export function decodeCbor(bytes: Uint8Array, limits: CborDecodeLimits = {}): Decoded {
  const r = new Reader(bytes, limits.maxDepth ?? 8, limits.canonical ?? false);
  const v = r.item(0);
  if (r.pos !== bytes.length) throw new WireError('WIRE_MALFORMED', `${bytes.length - r.pos} trailing bytes after the CBOR item`);
  return v;
}

/** IEEE 754 binary16 bits to a number (exact). */
export function halfBitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** A typed-value helper for decoders: true for a plain decoded map. */
export function isDecodedMap(v: Decoded): v is DecodedMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

import { Encoder } from 'cbor-x';
import { WireError } from '../errors.js';

/**
 * CBOR helpers for fleet documents and messages (DESIGN section 7: "everything that decodes wire bytes
 * validates sizes and types before use and rejects with a reason"). Byte strings decode as Uint8Array;
 * no records, no custom tags, so a peer in any language can read these maps.
 */
const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false, variableMapSize: true });

export type CborMap = Record<string, unknown>;

export function cborEncode(value: unknown): Uint8Array {
  return new Uint8Array(encoder.encode(value));
}

/** Decode `bytes` as one CBOR map of at most `maxBytes`; `what` names the thing in the error. */
export function cborDecodeMap(bytes: Uint8Array, maxBytes: number, what: string): CborMap {
  if (!(bytes instanceof Uint8Array)) throw new WireError('WIRE_TYPE', `${what}: not bytes`);
  if (bytes.length > maxBytes) {
    throw new WireError('WIRE_OVERSIZE', `${what}: ${bytes.length} bytes exceeds the ${maxBytes}-byte limit`, { detail: { size: bytes.length, max: maxBytes } });
  }
  if (bytes.length === 0) throw new WireError('WIRE_TRUNCATED', `${what}: empty`);
  let value: unknown;
  try {
    value = encoder.decode(bytes);
  } catch (err) {
    throw new WireError('WIRE_MALFORMED', `${what}: malformed CBOR (${(err as Error).message})`, { cause: err });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    throw new WireError('WIRE_TYPE', `${what}: expected a CBOR map`);
  }
  return value as CborMap;
}

/** Typed field readers: each throws WIRE_TYPE naming the field. */
export const field = {
  str(m: CborMap, key: string, what: string, max = 256, pattern?: RegExp): string {
    const v = m[key];
    if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new WireError('WIRE_TYPE', `${what}.${key}: expected a string of 1-${max} chars`);
    if (pattern && !pattern.test(v)) throw new WireError('WIRE_TYPE', `${what}.${key}: "${v.slice(0, 40)}" does not match ${pattern}`);
    return v;
  },
  optStr(m: CborMap, key: string, what: string, max = 256): string | undefined {
    return m[key] === undefined ? undefined : field.str(m, key, what, max);
  },
  bytes(m: CborMap, key: string, what: string, len?: number, max = 65536): Uint8Array {
    const v = m[key];
    if (!(v instanceof Uint8Array)) throw new WireError('WIRE_TYPE', `${what}.${key}: expected a byte string`);
    if (len !== undefined && v.length !== len) throw new WireError('WIRE_TYPE', `${what}.${key}: expected ${len} bytes, got ${v.length}`);
    if (v.length > max) throw new WireError('WIRE_OVERSIZE', `${what}.${key}: ${v.length} bytes exceeds ${max}`);
    return new Uint8Array(v);
  },
  optBytes(m: CborMap, key: string, what: string, max = 65536): Uint8Array | undefined {
    return m[key] === undefined ? undefined : field.bytes(m, key, what, undefined, max);
  },
  int(m: CborMap, key: string, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    let v = m[key];
    if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)) v = Number(v);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new WireError('WIRE_TYPE', `${what}.${key}: expected an integer in [${min}, ${max}]`);
    return v;
  },
  strList(m: CborMap, key: string, what: string, maxItems = 64, pattern?: RegExp): string[] {
    const v = m[key];
    if (!Array.isArray(v) || v.length > maxItems) throw new WireError('WIRE_TYPE', `${what}.${key}: expected a list of at most ${maxItems} strings`);
    return v.map((x, i) => {
      if (typeof x !== 'string' || x.length === 0 || x.length > 128 || (pattern && !pattern.test(x))) throw new WireError('WIRE_TYPE', `${what}.${key}[${i}]: bad item`);
      return x;
    });
  },
  map(m: CborMap, key: string, what: string): CborMap {
    const v = m[key];
    if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) throw new WireError('WIRE_TYPE', `${what}.${key}: expected a map`);
    return v as CborMap;
  },
};

/** Topic segment rule shared by fleet names, node ids, batch names and claim request ids. */
export const SEGMENT = /^[A-Za-z0-9_-]{1,64}$/;

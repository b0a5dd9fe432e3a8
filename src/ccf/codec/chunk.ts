import { createHash } from 'node:crypto';
import { WireError } from '../../errors.js';
import type { Clock } from '../../util/clock.js';
import { CborWriter, decodeCbor } from './cbor.js';

/**
 * Chunking for payloads above the 128 KiB message limit (DESIGN 7). Convention: the payload is a
 * complete inner signed envelope; each chunk body travels in its own signed envelope of kind 'chunk'.
 * Chunk body = CBOR [id: 16 bytes, index, total, size, data] where id = sha256(payload)[0..16], so
 * the reassembled payload is checked against the id before it is returned.
 */
export const CHUNK_HEADER_BYTES = 64; // upper bound of everything but `data` in a chunk body
export const MAX_CHUNKS = 65535;

function chunkId(payload: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(payload).digest().subarray(0, 16));
}

/** Split `payload` into chunk bodies of at most `maxBytes` each (maxBytes >= 128). */
export function splitPayload(payload: Uint8Array, maxBytes: number): Uint8Array[] {
  if (!Number.isInteger(maxBytes) || maxBytes < 128) throw new RangeError('chunk maxBytes must be an integer >= 128');
  const per = maxBytes - CHUNK_HEADER_BYTES;
  const total = Math.max(1, Math.ceil(payload.length / per));
  if (total > MAX_CHUNKS) throw new RangeError(`payload of ${payload.length} bytes needs ${total} chunks, limit ${MAX_CHUNKS}`);
  const id = chunkId(payload);
  const out: Uint8Array[] = [];
  for (let i = 0; i < total; i++) {
    const w = new CborWriter(maxBytes);
    w.head(4, 5);
    w.bytes(id);
    w.int(i);
    w.int(total);
    w.int(payload.length);
    w.bytes(payload.subarray(i * per, Math.min(payload.length, (i + 1) * per)));
    out.push(w.finish());
  }
  return out;
}

/** A decoded chunk body. */
export interface ChunkBody {
  id: Uint8Array;
  index: number;
  total: number;
  size: number;
  data: Uint8Array;
}

export function decodeChunkBody(bytes: Uint8Array): ChunkBody {
  const v = decodeCbor(bytes, { maxDepth: 2 });
  if (!Array.isArray(v) || v.length !== 5) throw new WireError('WIRE_CHUNK', 'chunk body is not a 5-element array');
  const [id, index, total, size, data] = v;
  if (!(id instanceof Uint8Array) || id.length !== 16) throw new WireError('WIRE_CHUNK', 'chunk id must be 16 bytes');
  if (typeof total !== 'number' || !Number.isInteger(total) || total < 1 || total > MAX_CHUNKS) throw new WireError('WIRE_CHUNK', `chunk total ${String(total)} is outside 1..${MAX_CHUNKS}`);
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= total) throw new WireError('WIRE_CHUNK', `chunk index ${String(index)} is outside 0..${total - 1}`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new WireError('WIRE_CHUNK', `chunk size ${String(size)} is invalid`);
  if (!(data instanceof Uint8Array)) throw new WireError('WIRE_CHUNK', 'chunk data must be a byte string');
  return { id, index, total, size, data };
}

/** Options of {@link ChunkAssembler}. */
export interface ChunkAssemblerOptions {
  /** Monotonic time source. Required. */
  clock: Pick<Clock, 'monotonic'>;
  /** Drop an incomplete payload this long after its first chunk, ms. Default 30_000. */
  timeoutMs?: number;
  /** Largest reassembled payload, bytes. Default 4 MiB. */
  maxPayloadBytes?: number;
  /** Most payloads assembled at once (oldest evicted beyond). Default 16. */
  maxPending?: number;
  /** Most bytes buffered over all pending payloads (oldest evicted beyond). Default 8 MiB. */
  maxBufferedBytes?: number;
  /**
   * Most payloads one sender may have pending; beyond it that sender's own oldest is evicted, so one
   * flooding sender cannot push out everyone else's partial payloads. Default 4.
   */
  maxPendingPerSender?: number;
}

interface Pending {
  started: number;
  total: number;
  size: number;
  parts: Array<Uint8Array | undefined>;
  received: number;
  bytes: number;
  id: Uint8Array;
  from: string;
}

/** Reassembles chunk bodies per (sender, id) with bounded memory and timeouts (no timers held). */
export class ChunkAssembler {
  private readonly pending = new Map<string, Pending>();
  private buffered = 0;
  private readonly timeoutMs: number;
  private readonly maxPayloadBytes: number;
  private readonly maxPending: number;
  private readonly maxBufferedBytes: number;
  private readonly maxPendingPerSender: number;
  /** Recently completed (sender, id) keys: late duplicate chunks must not deliver a payload twice. */
  private readonly completed = new Set<string>();
  /** Incomplete payloads dropped by timeout or memory bound. */
  dropped = 0;

  constructor(private readonly options: ChunkAssemblerOptions) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxPayloadBytes = options.maxPayloadBytes ?? 4 * 1024 * 1024;
    this.maxPending = options.maxPending ?? 16;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 8 * 1024 * 1024;
    this.maxPendingPerSender = options.maxPendingPerSender ?? 4;
  }

  /** Bytes currently buffered. */
  bufferedBytes(): number {
    return this.buffered;
  }

  pendingCount(): number {
    return this.pending.size;
  }

  /** Drop incomplete payloads older than the timeout. */
  purge(): void {
    const now = this.options.clock.monotonic();
    for (const [k, p] of this.pending) if (now - p.started > this.timeoutMs) this.drop(k);
  }

  private drop(k: string): void {
    const p = this.pending.get(k);
    if (!p) return;
    this.buffered -= p.bytes;
    this.pending.delete(k);
    this.dropped++;
  }

  /** Evict the oldest pending payload (of `from` only, when given). */
  private evictOldest(from?: string): void {
    let oldest: string | undefined;
    let at = Infinity;
    for (const [k, p] of this.pending) if ((from === undefined || p.from === from) && p.started < at) [oldest, at] = [k, p.started];
    if (oldest !== undefined) this.drop(oldest);
  }

  private pendingOf(from: string): number {
    let n = 0;
    for (const p of this.pending.values()) if (p.from === from) n++;
    return n;
  }

  /**
   * Add one chunk body from `from`; returns the whole payload when this chunk completes it, else
   * undefined. Throws WireError (WIRE_CHUNK, or CBOR codes) for bad or inconsistent chunks.
   */
  add(from: string, body: Uint8Array): Uint8Array | undefined {
    this.purge();
    let c: ChunkBody;
    try {
      c = decodeChunkBody(body);
    } catch (err) {
      if (err instanceof WireError) throw err;
      throw new WireError('WIRE_CHUNK', `chunk body could not be decoded: ${String(err)}`, { cause: err });
    }
    if (c.size > this.maxPayloadBytes) throw new WireError('WIRE_OVERSIZE', `chunked payload of ${c.size} bytes exceeds ${this.maxPayloadBytes}`);
    if (c.data.length > c.size) throw new WireError('WIRE_CHUNK', `chunk data (${c.data.length} bytes) exceeds the payload size ${c.size}`);
    const k = `${from}\u0000${Buffer.from(c.id).toString('hex')}`;
    if (this.completed.has(k)) return undefined;
    let p = this.pending.get(k);
    if (p && (p.total !== c.total || p.size !== c.size)) throw new WireError('WIRE_CHUNK', `chunk ${c.index} disagrees with earlier chunks on total/size`);
    if (p?.parts[c.index]) return undefined; // duplicate (QoS 1)
    if (!p) {
      while (this.pendingOf(from) >= this.maxPendingPerSender) this.evictOldest(from);
      while (this.pending.size >= this.maxPending) this.evictOldest();
      p = { started: this.options.clock.monotonic(), total: c.total, size: c.size, parts: new Array<Uint8Array | undefined>(c.total), received: 0, bytes: 0, id: c.id, from };
      this.pending.set(k, p);
    }
    if (p.bytes + c.data.length > p.size) {
      this.drop(k);
      throw new WireError('WIRE_CHUNK', 'chunks carry more bytes than the declared payload size');
    }
    while (this.buffered + c.data.length > this.maxBufferedBytes && this.pending.size > 1) {
      this.evictOldestExcept(k);
    }
    if (this.buffered + c.data.length > this.maxBufferedBytes) {
      this.drop(k);
      throw new WireError('WIRE_OVERSIZE', `chunk buffer limit ${this.maxBufferedBytes} bytes reached`);
    }
    p.parts[c.index] = c.data.slice();
    p.received++;
    p.bytes += c.data.length;
    this.buffered += c.data.length;
    if (p.received < p.total) return undefined;
    this.pending.delete(k);
    this.buffered -= p.bytes;
    if (p.bytes !== p.size) throw new WireError('WIRE_CHUNK', `reassembled ${p.bytes} bytes, declared ${p.size}`);
    const out = new Uint8Array(p.size);
    let off = 0;
    for (const part of p.parts) {
      out.set(part!, off);
      off += part!.length;
    }
    if (Buffer.compare(chunkId(out), p.id) !== 0) throw new WireError('WIRE_CHUNK', 'reassembled payload does not match its chunk id (sha256)');
    this.completed.add(k);
    if (this.completed.size > 256) this.completed.delete(this.completed.values().next().value!);
    return out;
  }

  private evictOldestExcept(keep: string): void {
    let oldest: string | undefined;
    let at = Infinity;
    for (const [k, p] of this.pending) if (k !== keep && p.started < at) [oldest, at] = [k, p.started];
    if (oldest !== undefined) this.drop(oldest);
  }
}

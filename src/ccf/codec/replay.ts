import { WireError } from '../../errors.js';

/** Options of {@link ReplayGuard}. */
export interface ReplayGuardOptions {
  /** Sliding window size in messages (multiple of 32). Default 1024. */
  window?: number;
}

interface SenderWindow {
  /** Highest sequence number accepted. */
  top: number;
  /** Bit i (mod window) set = seq with that residue inside the window was accepted. */
  bits: Uint32Array;
}

/** Persisted form of one sender's window (JSON-safe). */
export interface ReplayStateEntry {
  top: number;
  /** base64 of the bitmap words (little-endian uint32). */
  bits: string;
}
export type ReplayState = Record<string, ReplayStateEntry>;

/**
 * Per-sender anti-replay sliding window, as IPsec ESP (RFC 4303 section 3.4.3, bitmap per RFC 6479):
 * a sequence number is accepted when it was not seen before and is greater than top - window. So
 * QoS 1 duplicates and replays of old messages are rejected while moderate reordering is accepted.
 * Two steps: `check` (throws WIRE_REPLAY) before the signature is verified, `accept` only after it
 * verified, so a forged message cannot advance the window.
 */
export class ReplayGuard {
  private readonly windowSize: number;
  private readonly senders = new Map<string, SenderWindow>();

  constructor(options: ReplayGuardOptions = {}) {
    const w = options.window ?? 1024;
    if (!Number.isInteger(w) || w < 32 || w % 32 !== 0) throw new RangeError('replay window must be a positive multiple of 32');
    this.windowSize = w;
  }

  private bit(win: SenderWindow, seq: number): boolean {
    const i = seq % this.windowSize;
    return (win.bits[i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  /** Throw WIRE_REPLAY when (from, seq) was seen or is older than the window. Does not record. */
  check(from: string, seq: number): void {
    const win = this.senders.get(from);
    if (!win || seq > win.top) return;
    if (seq <= win.top - this.windowSize) {
      throw new WireError('WIRE_REPLAY', `seq ${seq} from ${from} is older than the replay window (highest ${win.top}, window ${this.windowSize})`);
    }
    if (this.bit(win, seq)) throw new WireError('WIRE_REPLAY', `seq ${seq} from ${from} was already accepted (duplicate or replay)`);
  }

  /** Record (from, seq) as accepted. Call only after the message's signature verified. */
  accept(from: string, seq: number): void {
    this.check(from, seq);
    let win = this.senders.get(from);
    if (!win) {
      win = { top: seq, bits: new Uint32Array(this.windowSize / 32) };
      this.senders.set(from, win);
    } else if (seq > win.top) {
      const shift = seq - win.top;
      if (shift >= this.windowSize) win.bits.fill(0);
      else for (let s = win.top + 1; s < seq; s++) this.clear(win, s);
      win.top = seq;
    }
    const i = seq % this.windowSize;
    win.bits[i >>> 5]! |= 1 << (i & 31);
  }

  private clear(win: SenderWindow, seq: number): void {
    const i = seq % this.windowSize;
    win.bits[i >>> 5]! &= ~(1 << (i & 31));
  }

  /** Highest accepted seq of a sender (gap detection), or undefined. */
  highest(from: string): number | undefined {
    return this.senders.get(from)?.top;
  }

  /** Forget a sender (e.g. revoked). */
  forget(from: string): void {
    this.senders.delete(from);
  }

  exportState(): ReplayState {
    const out: ReplayState = {};
    for (const [from, win] of this.senders) {
      out[from] = { top: win.top, bits: Buffer.from(win.bits.buffer, win.bits.byteOffset, win.bits.byteLength).toString('base64') };
    }
    return out;
  }

  /** Load persisted windows; malformed entries are skipped. Returns the number loaded. */
  importState(state: ReplayState): number {
    let n = 0;
    for (const [from, e] of Object.entries(state ?? {})) {
      if (!e || !Number.isSafeInteger(e.top) || e.top < 0 || typeof e.bits !== 'string') continue;
      const raw = Buffer.from(e.bits, 'base64');
      if (raw.length !== this.windowSize / 8) continue;
      const bits = new Uint32Array(this.windowSize / 32);
      new Uint8Array(bits.buffer).set(raw);
      this.senders.set(from, { top: e.top, bits });
      n++;
    }
    return n;
  }
}

import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

/**
 * MQTT framing watch for the embedded broker (issue 9 "resource limits"): aedes 1.x has no maximum
 * packet size and buffers a whole PUBLISH before any hook sees it, so one 200 MB packet costs 200 MB
 * or more. This reads only the fixed header of each packet as bytes arrive [MQTT-2.2]: one byte of
 * type and flags, then the Remaining Length as a variable byte integer of at most four bytes
 * [MQTT-2.2.3], and skips the body. It says stop as soon as a Remaining Length above the limit (or a
 * malformed one) is announced, before the body is read.
 */
export class FrameWatch {
  private state: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private left = 0;
  /** Complete packets seen so far. */
  packets = 0;

  constructor(private readonly maxPacketBytes: number) {}

  /** Feed received bytes; returns a refusal reason, or undefined while the stream is within limits. */
  feed(chunk: Uint8Array): 'packet-too-large' | 'malformed-length' | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'type') {
        i++;
        this.state = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
      } else if (this.state === 'length') {
        const b = chunk[i++]!;
        this.length += (b & 0x7f) * this.multiplier;
        this.multiplier *= 128;
        this.lengthBytes++;
        if (b & 0x80) {
          if (this.lengthBytes === 4) return 'malformed-length';
          continue;
        }
        // 1 type byte + length bytes + body
        if (1 + this.lengthBytes + this.length > this.maxPacketBytes) return 'packet-too-large';
        this.left = this.length;
        this.state = this.left === 0 ? 'type' : 'body';
        if (this.left === 0) this.packets++;
      } else {
        const take = Math.min(this.left, chunk.length - i);
        i += take;
        this.left -= take;
        if (this.left === 0) {
          this.state = 'type';
          this.packets++;
        }
      }
    }
    return undefined;
  }
}

/**
 * A duplex over `socket` that hands aedes only bytes a {@link FrameWatch} let through; on a refusal
 * the socket is destroyed before the oversized body is read (the chunk holding the header is the most
 * that is buffered). `onRefuse(reason)` runs once; `onFirstPacket()` when the first packet (CONNECT)
 * is complete.
 */
export function guardedConnection(socket: Socket, maxPacketBytes: number, hooks: { onRefuse: (reason: string) => void; onFirstPacket: () => void }): Duplex {
  const watch = new FrameWatch(maxPacketBytes);
  let first = true;
  const conn = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      if (socket.destroyed) return cb();
      socket.write(chunk, (err) => cb(err ?? null));
    },
    final(cb) {
      socket.end(cb);
    },
    destroy(err, cb) {
      socket.destroy();
      cb(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    const refused = watch.feed(chunk);
    if (refused) {
      hooks.onRefuse(refused);
      socket.destroy();
      conn.destroy();
      return;
    }
    if (first && watch.packets > 0) {
      first = false;
      hooks.onFirstPacket();
    }
    if (!conn.push(chunk)) socket.pause();
  });
  socket.once('end', () => conn.push(null));
  socket.once('close', () => {
    if (!conn.destroyed) conn.destroy();
  });
  socket.on('error', (err) => conn.destroy(err));
  return conn;
}

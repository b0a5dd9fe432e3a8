import { Duplex } from 'node:stream';
import { systemClock } from '../../src/util/clock.js';
import { serialLink } from '../../firmware-bridge/src/link/link.js';
import { McuClient } from '../../firmware-bridge/src/mcu/client.js';
import { cobsDecode } from '../../firmware-bridge/src/mcu/cobs.js';
import { decodePacket, encodeFrame, MsgType } from '../../firmware-bridge/src/mcu/protocol.js';
import type { UpdaterConnection } from '../../firmware-bridge/src/firmware/update.js';

/**
 * A link that flips the image byte at `imageOffset` inside the FW_CHUNK carrying it, and re-frames the
 * packet with a good CRC: corruption on the host's side of the link (bad RAM, a broken bridge), which
 * the frame CRC cannot see and only the MCU's SHA-256 of the received image can.
 */
export function corruptingConnector(pty: string, imageOffset: number): () => Promise<UpdaterConnection> {
  return async () => {
    const link = await serialLink({ path: pty, baudRate: 115200 }).open();
    const inner = link.stream;
    const proxy = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        let out = chunk;
        try {
          const p = decodePacket(cobsDecode(chunk.subarray(0, chunk.length - 1)));
          const off = p.type === MsgType.FW_CHUNK ? p.payload.readUInt32LE(0) : -1;
          if (off >= 0 && imageOffset >= off && imageOffset < off + p.payload.length - 4) {
            const payload = Buffer.from(p.payload);
            payload[4 + imageOffset - off] ^= 0xff;
            out = encodeFrame(p.type, p.seq, payload);
          }
        } catch {
          // not a whole frame: pass it on as it is
        }
        inner.write(out, cb);
      },
    });
    inner.on('data', (d: Buffer) => proxy.push(d));
    const client = new McuClient({ stream: proxy, clock: systemClock, timeoutMs: 300, retries: 2 });
    client.start();
    // the pty vanishes with QEMU (EIO): fail what is pending at once, as a vanished serial device does
    link.stream.on('error', () => client.stop());
    return {
      client,
      close: async () => {
        client.stop();
        await link.close();
      },
    };
  };
}

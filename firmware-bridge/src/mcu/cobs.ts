import { WireError } from '../../../src/errors.js';

/**
 * Consistent Overhead Byte Stuffing (Cheshire & Baker, IEEE/ACM ToN 1999): removes every 0x00 from
 * a packet so 0x00 can delimit frames. Overhead: 1 byte per 254 bytes, plus 1.
 */
export function cobsEncode(data: Uint8Array): Buffer {
  const out = Buffer.alloc(data.length + Math.ceil(data.length / 254) + 1);
  let codeAt = 0;
  let o = 1;
  let code = 1;
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    if (b === 0) {
      out[codeAt] = code;
      codeAt = o++;
      code = 1;
      continue;
    }
    out[o++] = b;
    if (++code === 0xff) {
      out[codeAt] = code;
      codeAt = o++;
      code = 1;
    }
  }
  out[codeAt] = code;
  return out.subarray(0, o);
}

/** Decode one COBS block (delimiter removed). Throws `WireError('FRAME_MALFORMED')` naming the bad offset. */
export function cobsDecode(data: Uint8Array): Buffer {
  const out = Buffer.alloc(data.length);
  let o = 0;
  let i = 0;
  while (i < data.length) {
    const code = data[i]!;
    if (code === 0) throw new WireError('FRAME_MALFORMED', `COBS: zero byte at offset ${i}`);
    if (i + code > data.length) throw new WireError('FRAME_MALFORMED', `COBS: code ${code} at offset ${i} runs past the end (${data.length} bytes)`);
    for (let k = 1; k < code; k++) {
      const b = data[i + k]!;
      if (b === 0) throw new WireError('FRAME_MALFORMED', `COBS: zero byte at offset ${i + k}`);
      out[o++] = b;
    }
    i += code;
    if (code !== 0xff && i < data.length) out[o++] = 0;
  }
  return out.subarray(0, o);
}

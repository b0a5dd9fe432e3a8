/** Modbus RTU CRC-16 (poly 0xA001 reflected, init 0xFFFF), sent low byte first (Modbus over Serial Line v1.02 §6.2.2). */
export function modbusCrc(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) {
    crc ^= bytes[i]!;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

/** Append the CRC (little-endian) to a frame body. */
export function withModbusCrc(body: Uint8Array): Buffer {
  const out = Buffer.alloc(body.length + 2);
  out.set(body);
  out.writeUInt16LE(modbusCrc(body), body.length);
  return out;
}

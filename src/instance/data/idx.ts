/**
 * The IDX format of MNIST and Fashion-MNIST (LeCun et al., "THE MNIST DATABASE", file formats): a
 * big-endian header [0, 0, type, ndims] + ndims uint32 sizes, then the data. Only unsigned bytes
 * (type 0x08) are used by those sets. Gzipped files are inflated first. Every size is checked
 * against the bytes present, so a truncated or foreign file is rejected with the reason.
 */
import { gunzipSync } from 'node:zlib';
import { H3lixError } from '../../errors.js';

/** A decoded IDX array: its dimensions and the raw bytes. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Decode IDX bytes (gzipped when they start with 1f 8b). `name` goes into error messages. */
export function decodeIdx(input: Uint8Array, name: string): IdxArray {
  let bytes = input;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = new Uint8Array(gunzipSync(bytes));
    } catch (err) {
      throw new H3lixError('DATA_INVALID', `${name}: gzip data is corrupt (${(err as Error).message})`, { cause: err });
    }
  }
  if (bytes.length < 4) throw new H3lixError('DATA_INVALID', `${name}: ${bytes.length} bytes, too short for an IDX header`);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new H3lixError('DATA_INVALID', `${name}: not an IDX file (magic ${bytes[0]!.toString(16)} ${bytes[1]!.toString(16)}, expected 00 00)`);
  if (bytes[2] !== 0x08) throw new H3lixError('DATA_INVALID', `${name}: IDX type 0x${bytes[2]!.toString(16)} is not unsigned byte (0x08)`);
  const ndims = bytes[3]!;
  if (ndims < 1 || ndims > 4) throw new H3lixError('DATA_INVALID', `${name}: IDX with ${ndims} dimensions (expected 1 to 4)`);
  const head = 4 + 4 * ndims;
  if (bytes.length < head) throw new H3lixError('DATA_INVALID', `${name}: truncated IDX header (${bytes.length} bytes, need ${head})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - head !== size) {
    throw new H3lixError('DATA_INVALID', `${name}: IDX dimensions ${dims.join('×')} need ${size} data bytes, the file has ${bytes.length - head}`);
  }
  return { dims, data: bytes.subarray(head) };
}

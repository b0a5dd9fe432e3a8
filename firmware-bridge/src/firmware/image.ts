import { createHash } from 'node:crypto';
import { H3lixError } from '../../../src/errors.js';
import { verify, type Signer } from '../../../src/crypto/ed25519.js';

/**
 * Companion-MCU firmware image (README "Firmware updates", mirrored by firmware/include/fwimage.h):
 * header (128 bytes) | payload | Ed25519 signature (64) by the fleet key over the header. The header
 * carries the payload's SHA-256, so the signature covers the payload too.
 *
 * header: magic "H3FW" | format u8 (1) | flags u8 (0) | header size u16 (128) | payload size u32 |
 * load address u32 | version major, minor, patch u8 + 0 | board [32] NUL-padded | payload sha256 [32] |
 * key id [8] (first 8 bytes of the fleet public key) | zero to 128.
 */
export const IMAGE_MAGIC = Buffer.from('H3FW', 'ascii');
export const IMAGE_HEADER_BYTES = 128;
export const IMAGE_SIGNATURE_BYTES = 64;
const BOARD_MAX = 24; // FW_BEGIN carries the board name in at most 24 bytes

export interface FirmwareImage {
  board: string;
  version: [number, number, number];
  loadAddress: number;
  payload: Buffer;
  sha256: Buffer;
  keyId: Buffer;
  header: Buffer;
  signature: Buffer;
  /** The whole image, as transferred and stored in a slot. */
  bytes: Buffer;
}

export function versionString(v: readonly number[]): string {
  return v.join('.');
}

/** Parse `1.2.3` into a version triple (each 0..255). */
export function parseVersion(s: string): [number, number, number] {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  const v = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [];
  if (v.length !== 3 || v.some((x) => x > 255)) throw new H3lixError('DATA_INVALID', `version must be MAJOR.MINOR.PATCH with each part 0..255, got "${s}"`);
  return v as [number, number, number];
}

export function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return (a[i] ?? 0) < (b[i] ?? 0) ? -1 : 1;
  return 0;
}

export interface BuildImageOptions {
  payload: Uint8Array;
  board: string;
  version: [number, number, number];
  /** Where the boot stage copies the payload (mps2-an385 slot build: 0x10000). */
  loadAddress: number;
  signer: Signer;
}

/** Make a signed image from a built firmware binary. */
export function buildImage(o: BuildImageOptions): FirmwareImage {
  const board = Buffer.from(o.board, 'utf8');
  if (board.length < 1 || board.length > BOARD_MAX) throw new H3lixError('DATA_INVALID', `board name must be 1..${BOARD_MAX} bytes, got ${board.length}`);
  if (o.payload.length < 1) throw new H3lixError('DATA_INVALID', 'firmware binary is empty');
  const header = Buffer.alloc(IMAGE_HEADER_BYTES);
  IMAGE_MAGIC.copy(header, 0);
  header[4] = 1;
  header.writeUInt16LE(IMAGE_HEADER_BYTES, 6);
  header.writeUInt32LE(o.payload.length, 8);
  header.writeUInt32LE(o.loadAddress >>> 0, 12);
  header.set(o.version, 16);
  board.copy(header, 20);
  const sha256 = createHash('sha256').update(o.payload).digest();
  sha256.copy(header, 52);
  Buffer.from(o.signer.publicKey.subarray(0, 8)).copy(header, 84);
  const signature = Buffer.from(o.signer.sign(header));
  return parseImage(Buffer.concat([header, o.payload, signature]));
}

/** Parse an image; FIRMWARE_IMAGE naming what is wrong (not an image, truncated, trailing bytes). */
export function parseImage(bytes: Buffer): FirmwareImage {
  if (bytes.length < IMAGE_HEADER_BYTES + IMAGE_SIGNATURE_BYTES) throw new H3lixError('FIRMWARE_IMAGE', `image of ${bytes.length} bytes is shorter than header and signature (${IMAGE_HEADER_BYTES + IMAGE_SIGNATURE_BYTES}): truncated`);
  if (!bytes.subarray(0, 4).equals(IMAGE_MAGIC)) throw new H3lixError('FIRMWARE_IMAGE', 'not an h3lix firmware image (magic is not "H3FW"; sign a binary with `h3lix mcu image`)');
  if (bytes[4] !== 1 || bytes.readUInt16LE(6) !== IMAGE_HEADER_BYTES) throw new H3lixError('FIRMWARE_IMAGE', `unsupported image format ${bytes[4]} (header ${bytes.readUInt16LE(6)} bytes)`);
  const header = bytes.subarray(0, IMAGE_HEADER_BYTES);
  const size = header.readUInt32LE(8);
  const expected = IMAGE_HEADER_BYTES + size + IMAGE_SIGNATURE_BYTES;
  if (bytes.length < expected) throw new H3lixError('FIRMWARE_IMAGE', `image is truncated: ${bytes.length} bytes, the header announces ${expected}`);
  if (bytes.length > expected) throw new H3lixError('FIRMWARE_IMAGE', `image has ${bytes.length - expected} bytes after its signature`);
  const boardField = header.subarray(20, 52);
  const nul = boardField.indexOf(0);
  const payload = bytes.subarray(IMAGE_HEADER_BYTES, IMAGE_HEADER_BYTES + size);
  return {
    board: boardField.subarray(0, nul < 0 ? 32 : nul).toString('utf8'),
    version: [header[16]!, header[17]!, header[18]!],
    loadAddress: header.readUInt32LE(12),
    payload,
    sha256: Buffer.from(header.subarray(52, 84)),
    keyId: Buffer.from(header.subarray(84, 92)),
    header: Buffer.from(header),
    signature: Buffer.from(bytes.subarray(expected - IMAGE_SIGNATURE_BYTES)),
    bytes,
  };
}

/**
 * The host-side checks, all before anything is sent: the signature against the TRUSTED fleet key (never
 * a key named in the image), and the payload against the header's SHA-256.
 */
export function verifyImage(img: FirmwareImage, fleetPublicKey: Uint8Array): void {
  if (!verify(fleetPublicKey, img.header, img.signature)) {
    const other = !Buffer.from(fleetPublicKey.subarray(0, 8)).equals(img.keyId);
    throw new H3lixError('FIRMWARE_SIGNATURE', other ? `image is signed by another key (key id ${img.keyId.toString('hex')}, this fleet's is ${Buffer.from(fleetPublicKey.subarray(0, 8)).toString('hex')})` : 'image signature does not verify against the fleet key (the header was altered)');
  }
  if (!createHash('sha256').update(img.payload).digest().equals(img.sha256)) throw new H3lixError('FIRMWARE_IMAGE', 'image payload does not match the SHA-256 in its signed header (payload altered or damaged)');
}

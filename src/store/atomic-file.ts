import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync, writeSync, mkdirSync, constants as fsc } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { H3lixError } from '../errors.js';

/**
 * Small durable files (identity, certificates) written atomically with a checksum.
 *
 * On-disk layout: the payload bytes, then a fixed 80-byte trailer line
 * `\n#h3lix-sha256 <64 hex digits of sha256(payload)>\n`. A JSON payload stays readable with `cat`;
 * a truncated or bit-flipped file fails the check and is reported as STORE_CORRUPT, never guessed at.
 *
 * Write sequence (survives power loss at any instant): write `<name>.tmp-<random>` with `mode`,
 * fsync it, rename over `<name>`, fsync the directory. A reader sees the old file or the new one.
 */
const TRAILER_PREFIX = Buffer.from('\n#h3lix-sha256 ', 'latin1');
const TRAILER_LEN = TRAILER_PREFIX.length + 64 + 1;

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function ioError(what: string, path: string, err: unknown): H3lixError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return new H3lixError('STORE_IO', `${what} ${path} failed${code ? ` (${code})` : ''}`, {
    cause: err,
    retryable: code === 'ENOSPC' || code === 'EAGAIN' || code === 'EBUSY' || code === 'EIO',
    detail: { path, errno: code },
  });
}

/** fsync a directory so a rename or create inside it is durable. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, fsc.O_RDONLY);
    fsyncSync(fd);
  } catch (err) {
    // Some filesystems refuse fsync on a directory (EINVAL/EISDIR); nothing more can be done there.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw ioError('fsync directory', dir, err);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Write `bytes` to `path` exactly as given (no trailer), atomically and durably, with `mode`. */
export function writeFileAtomicRaw(path: string, bytes: Uint8Array, mode = 0o600): void {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw ioError('create directory', dir, err);
  }
  const tmp = join(dir, `${basename(path)}.tmp-${randomBytes(6).toString('hex')}`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, mode);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw ioError('write', path, err);
  }
  fsyncDir(dir);
}

/** Wrap a payload with the checksum trailer. */
export function encodeChecked(payload: Uint8Array): Uint8Array {
  const trailer = Buffer.concat([TRAILER_PREFIX, Buffer.from(sha256Hex(payload), 'latin1'), Buffer.from('\n', 'latin1')]);
  return Buffer.concat([payload, trailer]);
}

/**
 * Verify and strip the checksum trailer. Throws STORE_CORRUPT naming `path` and the failed check
 * (too short, no trailer, checksum mismatch).
 */
export function decodeChecked(file: Uint8Array, path = '<buffer>'): Uint8Array {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  const corrupt = (reason: string) =>
    new H3lixError('STORE_CORRUPT', `${path} is corrupt: ${reason}`, { detail: { path, reason } });
  if (buf.length < TRAILER_LEN) throw corrupt(`file is ${buf.length} bytes, shorter than the checksum trailer (torn write?)`);
  const trailer = buf.subarray(buf.length - TRAILER_LEN);
  if (!trailer.subarray(0, TRAILER_PREFIX.length).equals(TRAILER_PREFIX) || trailer[TRAILER_LEN - 1] !== 0x0a) {
    throw corrupt('checksum trailer missing (truncated or not written by h3lix)');
  }
  const want = trailer.subarray(TRAILER_PREFIX.length, TRAILER_LEN - 1).toString('latin1');
  const payload = buf.subarray(0, buf.length - TRAILER_LEN);
  if (sha256Hex(payload) !== want) throw corrupt('sha256 checksum mismatch');
  return new Uint8Array(payload);
}

/**
 * Write `bytes` to `path` atomically (temp + fsync + rename + fsync(dir)) with a sha256 trailer and
 * file `mode` (default 0600). Read it back with `readFileChecked`. Throws STORE_IO on failure.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array, mode = 0o600): void {
  writeFileAtomicRaw(path, encodeChecked(bytes), mode);
}

/**
 * Read a file written by `writeFileAtomic` and verify its checksum. Returns `undefined` when the file
 * does not exist; throws STORE_CORRUPT when it exists but fails the check, STORE_IO when unreadable.
 */
export function readFileChecked(path: string): Uint8Array | undefined {
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError('read', path, err);
  }
  return decodeChecked(file, path);
}

/** Remove stale `<name>.tmp-*` files left by a crash mid-write (they were never renamed, never acknowledged). */
export function removeStaleTemps(path: string): number {
  const dir = dirname(path);
  const prefix = `${basename(path)}.tmp-`;
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    try {
      unlinkSync(join(dir, name));
      removed++;
    } catch {
      /* raced with another cleaner */
    }
  }
  return removed;
}

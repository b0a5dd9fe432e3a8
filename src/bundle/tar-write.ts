import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

/**
 * A minimal, deterministic POSIX ustar writer (IEEE Std 1003.1-2001 `pax` interchange format) for
 * bundles: regular files only, owner 0:0, a fixed mtime, a `pax` extended header (`path=`) for names
 * longer than the 100-byte ustar name field. No dependency, no `tar` binary needed on the build machine.
 */
export interface TarFileEntry {
  /** Path inside the archive (forward slashes, no leading `/`). */
  path: string;
  /** Unix mode bits (0o755 or 0o644). */
  mode: number;
  /** Bytes of the entry, or a file to stream from. */
  data?: Uint8Array;
  file?: string;
  /** Size in bytes (must equal the file's size when `file` is given). */
  size: number;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** One 512-byte ustar header block. `name` must fit 100 bytes (long names go through pax). */
export function ustarHeader(name: string, size: number, mode: number, typeflag: string, mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode & 0o7777, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(mtime, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii'); // checksum field counts as spaces while summing [POSIX ustar chksum]
  h.write(typeflag, 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

/** A pax record "LEN key=value\n" where LEN counts the whole record, itself included. */
function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return Buffer.from(`${len}${body}`, 'utf8');
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest, 0);
}

/** The archive as a stream of buffers (headers, file contents, padding, two zero blocks at the end). */
export async function* tarStream(entries: Iterable<TarFileEntry>, mtime: number): AsyncGenerator<Buffer> {
  for (const e of entries) {
    let name = e.path;
    if (Buffer.byteLength(name) > 100) {
      const pax = paxRecord('path', e.path);
      yield ustarHeader('PaxHeader', pax.length, 0o644, 'x', mtime);
      yield pax;
      yield padding(pax.length);
      name = e.path.slice(-90).replace(/^[^/]*\//, '');
    }
    yield ustarHeader(name, e.size, e.mode, '0', mtime);
    if (e.data) {
      if (e.data.length !== e.size) throw new RangeError(`tar entry ${e.path}: size ${e.size} != data ${e.data.length}`);
      yield Buffer.from(e.data);
    } else if (e.file !== undefined) {
      let n = 0;
      for await (const chunk of createReadStream(e.file)) {
        n += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      if (n !== e.size) throw new RangeError(`tar entry ${e.path}: file changed while archiving (${n} != ${e.size} bytes)`);
    }
    yield padding(e.size);
  }
  yield Buffer.alloc(BLOCK * 2, 0);
}

/** Write `entries` as a gzip-compressed tarball at `out`. */
export async function writeTarGz(out: string, entries: Iterable<TarFileEntry>, mtime: number): Promise<void> {
  await pipeline(tarStream(entries, mtime), createGzip({ level: 6 }), createWriteStream(out, { mode: 0o644 }));
}

import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { H3lixError } from '../errors.js';

/**
 * A streaming reader for the ustar/pax tarballs `tar-write.ts` produces (and GNU/BSD tar's ustar
 * output): memory stays bounded by one read chunk, whatever the archive size. Every header's checksum is
 * checked; entry types other than regular files and directories are reported as `other` so the caller
 * can refuse them (a bundle holds no links or devices).
 */
export interface TarEntryHeader {
  path: string;
  size: number;
  mode: number;
  type: 'file' | 'dir' | 'other';
  /** The raw ustar typeflag character. */
  typeflag: string;
}

/** Receives one entry's bytes in order. */
export interface TarEntrySink {
  data(chunk: Buffer): void | Promise<void>;
  end(): void | Promise<void>;
}

/** Called for each entry; return the sink for its bytes. Throwing stops the read. */
export type TarVisitor = (header: TarEntryHeader) => TarEntrySink | Promise<TarEntrySink>;

const BLOCK = 512;
const MAX_PAX = 64 * 1024;

function bad(message: string): H3lixError {
  return new H3lixError('BUNDLE_INVALID', `tarball: ${message}`);
}

function field(h: Buffer, start: number, len: number): string {
  const end = h.indexOf(0, start);
  return h.toString('utf8', start, end === -1 || end > start + len ? start + len : end);
}

function octalField(h: Buffer, start: number, len: number, what: string): number {
  const s = field(h, start, len).trim();
  if (!/^[0-7]*$/.test(s)) throw bad(`header ${what} is not octal`);
  return s === '' ? 0 : parseInt(s, 8);
}

/** Parse one header block; undefined for an all-zero (end-of-archive) block. */
export function parseHeader(h: Buffer): (TarEntryHeader & { ustarName: string }) | undefined {
  if (h.every((b) => b === 0)) return undefined;
  const stored = octalField(h, 148, 8, 'checksum');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  if (sum !== stored) throw bad('header checksum mismatch (corrupt or not a tarball)');
  const typeflag = String.fromCharCode(h[156]!) || '0';
  const prefix = h.toString('ascii', 257, 262) === 'ustar' ? field(h, 345, 155) : '';
  const name = field(h, 0, 100);
  const path = prefix ? `${prefix}/${name}` : name;
  const type = typeflag === '0' || typeflag === '\0' ? 'file' : typeflag === '5' ? 'dir' : 'other';
  return { path, ustarName: path, size: octalField(h, 124, 12, 'size'), mode: octalField(h, 100, 8, 'mode'), type, typeflag };
}

function paxPath(data: Buffer): string | undefined {
  let i = 0;
  let path: string | undefined;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp === -1) throw bad('malformed pax record');
    const len = Number(data.toString('ascii', i, sp));
    if (!Number.isSafeInteger(len) || len <= 0 || i + len > data.length) throw bad('malformed pax record length');
    const rec = data.toString('utf8', sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0 && rec.slice(0, eq) === 'path') path = rec.slice(eq + 1);
    i += len;
  }
  return path;
}

/** Read a gzip-compressed tarball, calling `visit` for each entry (pax headers applied). */
export async function readTarGz(file: string, visit: TarVisitor): Promise<void> {
  let buf: Buffer = Buffer.alloc(0);
  let entry: { sink: TarEntrySink | undefined; remaining: number; pad: number; pax?: Buffer[] } | undefined;
  let paxOverride: string | undefined;
  let ended = false;
  const stream = createReadStream(file).pipe(createGunzip());
  // Errors of the visitor and its sinks (a refused entry, a failed write) pass through unchanged;
  // only the archive's own read/decompress errors become BUNDLE_INVALID.
  let fromVisitor = false;
  const guard = async <T>(f: () => T | Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      fromVisitor = true;
      throw err;
    }
  };
  try {
    for await (const chunk of stream) {
      buf = buf.length ? Buffer.concat([buf, chunk as Buffer]) : (chunk as Buffer);
      while (!ended) {
        if (entry) {
          if (entry.remaining > 0) {
            if (buf.length === 0) break;
            const take = Math.min(entry.remaining, buf.length);
            const part = buf.subarray(0, take);
            if (entry.pax) entry.pax.push(Buffer.from(part));
            else if (entry.sink) {
              const sink = entry.sink;
              await guard(() => sink.data(part));
            }
            buf = buf.subarray(take);
            entry.remaining -= take;
            if (entry.remaining > 0) break;
          }
          if (buf.length < entry.pad) break;
          buf = buf.subarray(entry.pad);
          if (entry.pax) paxOverride = paxPath(Buffer.concat(entry.pax));
          else if (entry.sink) {
            const sink = entry.sink;
            await guard(() => sink.end());
          }
          entry = undefined;
          continue;
        }
        if (buf.length < BLOCK) break;
        const h = parseHeader(buf.subarray(0, BLOCK));
        buf = buf.subarray(BLOCK);
        if (!h) {
          ended = true;
          break;
        }
        const pad = (BLOCK - (h.size % BLOCK)) % BLOCK;
        if (h.typeflag === 'x' || h.typeflag === 'g') {
          if (h.size > MAX_PAX) throw bad(`pax header of ${h.size} bytes`);
          entry = { sink: undefined, remaining: h.size, pad, ...(h.typeflag === 'x' ? { pax: [] } : {}) };
          continue;
        }
        const header: TarEntryHeader = { path: paxOverride ?? h.path, size: h.size, mode: h.mode, type: h.type, typeflag: h.typeflag };
        paxOverride = undefined;
        entry = { sink: await guard(() => visit(header)), remaining: h.size, pad };
      }
      if (ended) break;
    }
  } catch (err) {
    stream.destroy();
    if (err instanceof H3lixError || fromVisitor) throw err;
    throw new H3lixError('BUNDLE_INVALID', `tarball ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (!ended || entry) throw bad('truncated (no end-of-archive marker)');
}

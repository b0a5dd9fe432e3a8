import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, fsyncSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { H3lixError } from '../errors.js';

/** Where {@link stageBundle} takes a bundle from: a path on the board, or an http(s) URL it can reach. */
export interface StageOptions {
  source: string;
  /** The staged copy (written beside as `.part`, renamed when complete). */
  dest: string;
  maxBytes: number;
  timeoutMs: number;
  /** Expected sha256 (hex) of the tarball; checked before anything else looks at it. */
  sha256?: string;
}

/**
 * Copy or download a bundle to `dest`, bounded in size and time, optionally checked against a sha256.
 * Throws BUNDLE_INVALID naming what was wrong; never leaves a partial `dest` behind.
 */
export async function stageBundle(o: StageOptions): Promise<{ bytes: number; sha256: string }> {
  mkdirSync(dirname(o.dest), { recursive: true });
  const part = `${o.dest}.part`;
  rmSync(part, { force: true });
  try {
    const r = /^https?:\/\//i.test(o.source) ? await download(o, part) : copyLocal(o, part);
    if (o.sha256 !== undefined && r.sha256 !== o.sha256.toLowerCase()) throw new H3lixError('BUNDLE_INVALID', `${o.source}: sha256 is ${r.sha256}, the command expected ${o.sha256}`);
    renameSync(part, o.dest);
    return r;
  } catch (err) {
    rmSync(part, { force: true });
    if (err instanceof H3lixError) throw err;
    throw new H3lixError('BUNDLE_INVALID', `${o.source}: ${(err as Error).message}`, { cause: err });
  }
}

function copyLocal(o: StageOptions, part: string): { bytes: number; sha256: string } {
  if (!o.source.startsWith('/')) throw new H3lixError('BUNDLE_INVALID', `source ${JSON.stringify(o.source)}: give an absolute path on the board or an http(s) URL`);
  let size: number;
  try {
    size = statSync(o.source).size;
  } catch (err) {
    throw new H3lixError('BUNDLE_INVALID', `${o.source}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  if (size > o.maxBytes) throw new H3lixError('BUNDLE_INVALID', `${o.source}: ${size} bytes, more than update.maxBytes (${o.maxBytes})`);
  copyFileSync(o.source, part);
  const fd = openSync(part, 'r+');
  fsyncSync(fd);
  closeSync(fd);
  return { bytes: size, sha256: hashFile(part) };
}

function hashFile(path: string): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(1 << 16);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

async function download(o: StageOptions, part: string): Promise<{ bytes: number; sha256: string }> {
  const res = await fetch(o.source, { signal: AbortSignal.timeout(o.timeoutMs), redirect: 'follow' });
  if (!res.ok || !res.body) throw new H3lixError('BUNDLE_INVALID', `${o.source}: HTTP ${res.status} ${res.statusText}`);
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > o.maxBytes) throw new H3lixError('BUNDLE_INVALID', `${o.source}: ${declared} bytes announced, more than update.maxBytes (${o.maxBytes})`);
  const h = createHash('sha256');
  const fd = openSync(part, 'w', 0o644);
  let bytes = 0;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      if (bytes > o.maxBytes) throw new H3lixError('BUNDLE_INVALID', `${o.source}: more than update.maxBytes (${o.maxBytes}) bytes`);
      h.update(chunk);
      writeSync(fd, chunk);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return { bytes, sha256: h.digest('hex') };
}

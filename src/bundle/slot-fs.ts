import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeSync } from 'node:fs';

/** An open file being written; `close` fsyncs before closing. */
export interface SlotFileWriter {
  write(chunk: Uint8Array): void;
  close(): void;
}

/**
 * The file operations an update performs, one call = one durable step. The power-cut test wraps this
 * to stop after step N (test/bundle/power-cut.test.ts); the model is that every completed step is on
 * disk (files are fsynced on close, directories after renames) and an interrupted one may be partial.
 */
export interface SlotFs {
  exists(path: string): boolean;
  readFile(path: string): Buffer | undefined;
  readlink(path: string): string | undefined;
  mkdir(path: string): void;
  openWrite(path: string, mode: number): SlotFileWriter;
  rename(from: string, to: string): void;
  symlink(target: string, path: string): void;
  rm(path: string): void;
  fsyncDir(path: string): void;
}

/** The real file system. */
export const realSlotFs: SlotFs = {
  exists: (p) => existsSync(p),
  readFile: (p) => {
    try {
      return readFileSync(p);
    } catch {
      return undefined;
    }
  },
  readlink: (p) => {
    try {
      return readlinkSync(p);
    } catch {
      return undefined;
    }
  },
  mkdir: (p) => void mkdirSync(p, { recursive: true }),
  openWrite: (p, mode) => {
    const fd = openSync(p, 'w', mode);
    return {
      write: (chunk) => {
        let off = 0;
        while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
      },
      close: () => {
        fsyncSync(fd);
        closeSync(fd);
      },
    };
  },
  rename: (a, b) => renameSync(a, b),
  symlink: (t, p) => symlinkSync(t, p),
  rm: (p) => rmSync(p, { recursive: true, force: true }),
  fsyncDir: (p) => {
    const fd = openSync(p, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  },
};

/** Thrown by {@link cutAfter} when the simulated power goes. */
export class PowerCut extends Error {
  constructor(readonly step: number) {
    super(`power cut at step ${step}`);
    this.name = 'PowerCut';
  }
}

/** A SlotFs whose mutating steps stop with PowerCut once `limit` of them have run; `steps()` counts them. */
export function cutAfter(inner: SlotFs, limit: number): SlotFs & { steps(): number } {
  let n = 0;
  const step = (): void => {
    if (n >= limit) throw new PowerCut(n);
    n++;
  };
  return {
    steps: () => n,
    exists: inner.exists,
    readFile: inner.readFile,
    readlink: inner.readlink,
    mkdir: (p) => (step(), inner.mkdir(p)),
    openWrite: (p, mode) => {
      step();
      const w = inner.openWrite(p, mode);
      return { write: (c) => (step(), w.write(c)), close: () => (step(), w.close()) };
    },
    rename: (a, b) => (step(), inner.rename(a, b)),
    symlink: (t, p) => (step(), inner.symlink(t, p)),
    rm: (p) => (step(), inner.rm(p)),
    fsyncDir: (p) => (step(), inner.fsyncDir(p)),
  };
}

import { closeSync, openSync, readSync } from 'node:fs';
import type { BundleTarget } from './targets.js';

/** What the first bytes of a file say about it (ELF header, System V gABI "ELF Header"). */
export interface ElfIdent {
  elf: boolean;
  /** EI_CLASS: 1 = 32-bit, 2 = 64-bit. */
  elfClass?: number;
  /** e_machine (little-endian: both targets are EI_DATA = 1). */
  machine?: number;
}

const MACHINES: Record<number, string> = { 3: 'x86', 40: 'arm', 62: 'x86-64', 183: 'aarch64', 243: 'riscv' };

/** Bytes needed by {@link elfIdent}. */
export const ELF_IDENT_BYTES = 20;

/** Parse the start of a file. Fewer than 20 bytes or no `\x7fELF` magic: `{ elf: false }`. */
export function elfIdent(head: Uint8Array): ElfIdent {
  if (head.length < ELF_IDENT_BYTES || head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) return { elf: false };
  const le = head[5] === 1;
  const machine = le ? head[18]! | (head[19]! << 8) : (head[18]! << 8) | head[19]!;
  return { elf: true, elfClass: head[4]!, machine };
}

/** Read a file's ELF identification. */
export function readElfIdent(path: string): ElfIdent {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(ELF_IDENT_BYTES);
    const n = readSync(fd, head, 0, ELF_IDENT_BYTES, 0);
    return elfIdent(head.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

/** Human name of an ELF machine number. */
export function machineName(machine: number | undefined): string {
  return machine === undefined ? 'unknown' : (MACHINES[machine] ?? `e_machine ${machine}`);
}

/**
 * Why a file cannot run on `target`, or undefined when it can. `mustBeElf` (for `.node` addons and
 * `bin/node`): a file that is not ELF at all (Mach-O, PE, text) is refused too.
 */
export function archMismatch(ident: ElfIdent, target: BundleTarget, mustBeElf: boolean): string | undefined {
  if (!ident.elf) return mustBeElf ? `not an ELF binary (a native file for ${target.name} must be ELF ${machineName(target.elfMachine)})` : undefined;
  if (ident.machine !== target.elfMachine || ident.elfClass !== target.elfClass) return `ELF ${machineName(ident.machine)} (${ident.elfClass === 1 ? '32' : '64'}-bit), target ${target.name} needs ${machineName(target.elfMachine)}`;
  return undefined;
}

/** Files that must be native code of the target: Node addons, shared libraries, the runtime. */
export function isNativePath(path: string): boolean {
  return path.endsWith('.node') || /\.so(\.\d+)*$/.test(path) || path === 'bin/node';
}

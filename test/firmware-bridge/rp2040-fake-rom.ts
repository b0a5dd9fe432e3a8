import type { RP2040 } from 'rp2040js';

/**
 * A stand-in for the RP2040 bootrom's flash API (datasheet 2.8.3), for rp2040js, which has no bootrom
 * binary here. It lays out what the firmware looks up (magic 'M' 'u' 1 at 0x10, the function table
 * pointer at 0x14, the lookup function at 0x18) and makes each ROM function `bkpt #n; bx lr`, so the
 * work happens in TypeScript on the breakpoint: erase sets bytes to 0xFF, program clears bits (NOR).
 * It also checks the calling contract real silicon enforces by crashing: between flash_exit_xip and
 * flash_enter_cmd_xip no instruction fetch or data read may touch flash (XIP is off), interrupts are
 * masked, the data comes from SRAM, the cache is flushed before XIP comes back. Breaches are recorded in
 * `violations` (the emulation goes on, where silicon would hang).
 */
const FLASH = 0x1000_0000;
const FLASH_END = 0x1400_0000;
const SRAM = 0x2000_0000;
const SRAM_END = 0x2004_2000;
const LOOKUP_AT = 0x200;
const FN_AT = 0x210;
const FUNCTIONS = ['IF', 'EX', 'RE', 'RP', 'FC', 'CX'] as const; // connect, exit_xip, erase, program, flush, enter_cmd_xip
type RomFn = (typeof FUNCTIONS)[number];

export class FakeBootrom {
  /** ROM calls in order, e.g. `RE 0x1ff000+4096`. */
  readonly calls: string[] = [];
  readonly violations: string[] = [];
  private xipOff = false;
  private flushed = false;
  private readonly reads: Pick<RP2040, 'readUint32' | 'readUint16' | 'readUint8'>;

  constructor(private readonly mcu: RP2040) {
    const rom = new Uint8Array(mcu.bootrom.buffer);
    rom.set([0x4d, 0x75, 0x01, 0x02], 0x10); // 'M' 'u' 1, version 2
    new DataView(mcu.bootrom.buffer).setUint16(0x14, 0x100, true); // function table (only passed back to lookup)
    new DataView(mcu.bootrom.buffer).setUint16(0x18, LOOKUP_AT | 1, true); // Thumb address
    const code = (at: number, n: number): void => {
      new DataView(mcu.bootrom.buffer).setUint16(at, 0xbe00 | n, true); // BKPT #n
      new DataView(mcu.bootrom.buffer).setUint16(at + 2, 0x4770, true); // BX LR
    };
    code(LOOKUP_AT, 0x80);
    FUNCTIONS.forEach((_, i) => code(FN_AT + 4 * i, i));
    this.reads = { readUint32: mcu.readUint32.bind(mcu), readUint16: mcu.readUint16.bind(mcu), readUint8: mcu.readUint8.bind(mcu) };
    mcu.onBreak = (n) => this.onBreak(n);
  }

  private onBreak(n: number): void {
    const { core } = this.mcu;
    const r = core.registers;
    if (n === 0x80) {
      const name = String.fromCharCode(r[1]! & 0xff, (r[1]! >> 8) & 0xff);
      const i = FUNCTIONS.indexOf(name as RomFn);
      r[0] = i < 0 ? 0 : (FN_AT + 4 * i) | 1;
      return;
    }
    const fn = FUNCTIONS[n];
    if (!fn) return void this.violations.push(`unexpected BKPT #${n}`);
    const caller = core.LR & ~1;
    if (this.xipOff && (caller < SRAM || caller >= SRAM_END)) this.violations.push(`${fn} called from 0x${caller.toString(16)} while XIP is off`);
    if ((fn === 'EX' || fn === 'RE' || fn === 'RP') && !core.PM) this.violations.push(`${fn} with interrupts enabled`);
    if (fn === 'IF') this.calls.push('IF');
    else if (fn === 'EX') this.exitXip();
    else if (fn === 'RE') this.erase(r[0]! >>> 0, r[1]! >>> 0);
    else if (fn === 'RP') this.program(r[0]! >>> 0, r[1]! >>> 0, r[2]! >>> 0);
    else if (fn === 'FC') {
      this.flushed = true;
      this.calls.push('FC');
    } else this.enterXip();
  }

  private exitXip(): void {
    this.calls.push('EX');
    this.xipOff = true;
    this.flushed = false;
    const guard = (what: string) => (addr: number): void => {
      const a = addr >>> 0;
      if (a >= FLASH && a < FLASH_END && this.violations.length < 20) this.violations.push(`${what} of flash 0x${a.toString(16)} while XIP is off (pc 0x${this.mcu.core.PC.toString(16)})`);
    };
    const g32 = guard('read'), g16 = guard('fetch/read'), g8 = guard('read');
    this.mcu.readUint32 = (a) => (g32(a), this.reads.readUint32(a));
    this.mcu.readUint16 = (a) => (g16(a), this.reads.readUint16(a));
    this.mcu.readUint8 = (a) => (g8(a), this.reads.readUint8(a));
  }

  private enterXip(): void {
    this.calls.push('CX');
    if (!this.xipOff) this.violations.push('CX without EX');
    if (!this.flushed) this.violations.push('XIP re-entered without flash_flush_cache');
    this.xipOff = false;
    Object.assign(this.mcu, this.reads);
  }

  private erase(offset: number, count: number): void {
    this.calls.push(`RE 0x${offset.toString(16)}+${count}`);
    if (!this.xipOff) this.violations.push('erase with XIP on');
    if (offset % 4096 || count % 4096 || offset + count > this.mcu.flash.length) return void this.violations.push(`erase 0x${offset.toString(16)}+${count} not whole sectors`);
    this.mcu.flash.fill(0xff, offset, offset + count);
  }

  private program(offset: number, data: number, count: number): void {
    this.calls.push(`RP 0x${offset.toString(16)}+${count}`);
    if (!this.xipOff) this.violations.push('program with XIP on');
    if (data < SRAM || data + count > SRAM_END) return void this.violations.push(`program data at 0x${data.toString(16)}, not in SRAM`);
    if (offset % 256 || count % 256 || offset + count > this.mcu.flash.length) return void this.violations.push(`program 0x${offset.toString(16)}+${count} not whole pages`);
    const src = this.mcu.sram.subarray(data - SRAM, data - SRAM + count);
    for (let i = 0; i < count; i++) this.mcu.flash[offset + i]! &= src[i]!; // NOR: programming clears bits
  }
}

import { Duplex } from 'node:stream';
import { I2CMode, RP2040, type RPI2C } from 'rp2040js';
import { FakeBootrom } from './rp2040-fake-rom.js';

/**
 * The RP2040 reference-firmware image (firmware/targets/rp2040) running in rp2040js (the Wokwi RP2040
 * emulator), for tests. There is no bootrom binary here, so the bootrom's part is played in TypeScript:
 * the image is put in flash, its 256-byte boot2 is copied to SRAM 0x20041F00 and entered with lr = 0, as
 * the bootrom does after its CRC check; boot2 itself (our code) then sets VTOR, SP and PC from the
 * application's vector table. UART0 is a Duplex paced at 115200 baud of simulated time; I2C0 carries
 * emulated INA219s; GP2 (host power switch) is readable. Simulated time follows real time.
 */

const BOOT2_SRAM = 0x20041f00;
const BAUD_NANOS = 1e9 / (115200 / 10); // one 8N1 byte on the wire
const SLICE_MS = 4; // run at most this much real time per event-loop turn

/** One emulated INA219 (TI SBOS448G), register formats as firmware/emu/model.c: 10 mΩ shunt. */
export class EmulatedIna219 {
  private config = 0x399f;
  private cal = 0;
  volts = 12.8;
  amps = 0;
  /** Register accesses seen (reads and writes), to show the firmware talked to this chip. */
  accesses = 0;

  read(reg: number): number | undefined {
    this.accesses++;
    const shunt = Math.max(-32768, Math.min(32767, Math.round((this.amps * 0.01) / 10e-6))); // LSB 10 µV
    const current = Math.trunc((shunt * this.cal) / 4096); // Current = Shunt x Cal / 4096 (8.5.1)
    const bus = Math.round((this.volts * 1000) / 4) & 0x1fff; // LSB 4 mV, 13 bits
    switch (reg) {
      case 0: return this.config;
      case 1: return shunt & 0xffff;
      case 2: return ((bus << 3) | 0x2) & 0xffff; // CNVR set
      case 3: return this.cal ? Math.trunc((Math.abs(current) * bus) / 5000) & 0xffff : 0;
      case 4: return this.cal ? current & 0xffff : 0;
      case 5: return this.cal;
      default: return undefined;
    }
  }

  write(reg: number, value: number): boolean {
    this.accesses++;
    if (reg === 0) this.config = value;
    else if (reg === 5) this.cal = value & 0xfffe; // bit 0 is read-only
    else return false;
    return true;
  }
}

/** Connects emulated chips to an rp2040js I2C block: pointer write, 16-bit register read/write. */
function attachI2c(i2c: RPI2C, devices: Map<number, EmulatedIna219>): void {
  let dev: EmulatedIna219 | undefined;
  let written: number[] = [];
  let readIndex = 0;
  let readValue = 0;
  let pointer = 0;
  i2c.onStart = () => i2c.completeStart();
  i2c.onConnect = (address, mode) => {
    dev = devices.get(address);
    if (!dev) return i2c.completeConnect(false); // no chip: NACK the address
    written = [];
    readIndex = 0;
    if (mode === I2CMode.Read) readValue = dev.read(pointer) ?? 0xffff;
    i2c.completeConnect(true);
  };
  i2c.onWriteByte = (value) => {
    written.push(value);
    if (written.length === 1) pointer = value;
    i2c.completeWrite(written.length <= 3);
  };
  i2c.onReadByte = () => {
    i2c.completeRead(readIndex++ === 0 ? readValue >> 8 : readValue & 0xff); // MSB first
  };
  i2c.onStop = () => {
    if (dev && written.length === 3) dev.write(written[0]!, (written[1]! << 8) | written[2]!);
    written = [];
    i2c.completeStop();
  };
}

/** Options of {@link Rp2040Sim}. */
export interface Rp2040SimOptions {
  /** The flat flash image (build/h3lix-mcu-rp2040.bin), boot2 first. */
  flash: Buffer;
  /** Emulated INA219s by 7-bit address. Default: none (every sensor read NACKs). */
  ina219?: Map<number, EmulatedIna219>;
  /** Put the bootrom stand-in's flash API in the ROM (rp2040-fake-rom.ts). Default: an empty ROM. */
  flashRom?: boolean;
}

/** A running RP2040 emulation; `stream` is UART0. */
export class Rp2040Sim {
  readonly mcu = new RP2040();
  readonly stream: Duplex;
  /** The bootrom stand-in, when `flashRom` was given. */
  readonly rom: FakeBootrom | undefined;
  /** rp2040js warnings and errors (an access to an unmodelled register, a bad address), at most 100. */
  readonly log: string[] = [];
  /** Bytes written by the firmware on UART0 so far. */
  txBytes = 0;
  private readonly rx: number[] = [];
  private nextFeedNanos = 0;
  private timer: NodeJS.Immediate | undefined;
  private startReal = 0;
  private startNanos = 0;

  constructor(opts: Rp2040SimOptions) {
    const { mcu } = this;
    const keep = (level: string) => (component: string, message: string) => {
      if (this.log.length < 100) this.log.push(`${level} ${component}: ${message}`);
    };
    mcu.logger = { debug: () => {}, info: () => {}, warn: keep('warn'), error: keep('error') };
    this.rom = opts.flashRom ? new FakeBootrom(mcu) : undefined;
    mcu.flash.set(opts.flash);
    const boot2 = opts.flash.subarray(0, 256);
    mcu.sram.set(boot2, BOOT2_SRAM - 0x20000000);
    mcu.core.SP = 0x20042000;
    mcu.core.LR = 0; // entered from the bootrom
    mcu.core.PC = BOOT2_SRAM;
    attachI2c(mcu.i2c[0]!, opts.ina219 ?? new Map());
    const tx: number[] = [];
    this.stream = new Duplex({
      read: () => {},
      write: (chunk: Buffer, _enc, cb) => {
        for (const b of chunk) this.rx.push(b);
        cb();
      },
    });
    mcu.uart[0]!.onByte = (b) => {
      tx.push(b);
      this.txBytes++;
    };
    this.flushTx = () => {
      if (tx.length) this.stream.push(Buffer.from(tx.splice(0)));
    };
  }

  private readonly flushTx: () => void;

  /** The host power switch (GP2, driven by the firmware's SIO output). */
  get hostPowered(): boolean {
    return this.mcu.gpio[2]!.outputValue;
  }

  /** Simulated time since reset, ms. */
  get millis(): number {
    return this.mcu.clock.nanos / 1e6;
  }

  start(): void {
    this.startReal = performance.now();
    this.startNanos = this.mcu.clock.nanos;
    const turn = (): void => {
      this.run();
      this.timer = setImmediate(turn);
    };
    this.timer = setImmediate(turn);
  }

  stop(): void {
    if (this.timer) clearImmediate(this.timer);
    this.timer = undefined;
    this.stream.push(null);
  }

  /** Run the CPU until simulated time catches up with real time (at most SLICE_MS of real time). */
  private run(): void {
    const { mcu } = this;
    const clock = mcu.clock as unknown as { nanos: number; tick(n: number): void; nanosToNextAlarm: number };
    const sliceEnd = performance.now() + SLICE_MS;
    const target = this.startNanos + (performance.now() - this.startReal) * 1e6;
    let n = 0;
    while (clock.nanos < target) {
      if (this.rx.length && clock.nanos >= this.nextFeedNanos) {
        mcu.uart[0]!.feedByte(this.rx.shift()!);
        this.nextFeedNanos = clock.nanos + BAUD_NANOS;
      }
      if (mcu.core.waiting) {
        // asleep in WFI: jump to the next timer alarm, the next UART byte or the real-time target
        let step = target - clock.nanos;
        const alarm = clock.nanosToNextAlarm;
        if (alarm > 0) step = Math.min(step, alarm);
        if (this.rx.length) step = Math.min(step, Math.max(1, this.nextFeedNanos - clock.nanos));
        clock.tick(step);
      } else {
        const cycles = mcu.core.executeInstruction();
        clock.tick((cycles * 1e9) / mcu.clkSys);
      }
      if ((++n & 0xfff) === 0 && performance.now() > sliceEnd) break;
    }
    this.flushTx();
  }
}

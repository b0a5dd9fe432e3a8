import type { Duplex } from 'node:stream';
import { describeError } from '../../../src/errors.js';
import type { Clock, TimerHandle } from '../../../src/util/clock.js';
import type { Logger } from '../../../src/util/logger.js';
import { serialLink, type OpenLink, type SerialLinkOptions } from '../link/link.js';
import { EPEVER, RENOGY } from '../modbus/registers.js';
import { encodeVeDirectBlock } from '../vedirect/protocol.js';
import { McuDevice } from './mcu-device.js';
import { ModbusSlave } from './modbus-slave.js';
import { epeverRegister, renogyRegister, veDirectFields } from './render.js';
import { SolarDay, type SolarDayOptions, type SolarState } from './solar-model.js';
import { spawnPtyPair, type PtyPair } from './pty.js';

export const EMULATED_PROTOCOLS = ['vedirect', 'mcu', 'modbus-epever', 'modbus-renogy'] as const;
export type EmulatedProtocol = (typeof EMULATED_PROTOCOLS)[number];

/** Options of {@link Emulator}. */
export interface EmulatorOptions {
  protocol: EmulatedProtocol;
  /** Create a socat pty pair with a symlink here (consumers open it). Exactly one of `pty` / `device`. */
  pty?: string;
  /** Write to this existing serial device instead (e.g. a USB-serial adapter looped to the board). */
  device?: string;
  /** Simulated seconds per real second. Default 1. */
  speed?: number;
  /** Real ms between model steps (and VE.Direct blocks, MCU readings). Default 1000 (VE.Direct sends one block a second). */
  tickMs?: number;
  /** Solar model (seed, start hour, trace...). */
  model?: SolarDayOptions;
  /** Insert a VE.Direct HEX frame before every Nth block (async notifications). Default 5; 0 = never. */
  hexEvery?: number;
  clock: Clock;
  logger: Logger;
  /** Serial port constructor for `device` (tests). */
  createPort?: SerialLinkOptions['createPort'];
}

/**
 * Plays a solar day as VE.Direct TEXT blocks, a companion MCU, or an EPEver/Renogy Modbus slave on a
 * pseudo-terminal (socat) or an existing serial device.
 */
export class Emulator {
  /** The path consumers open (the pty symlink or the device). */
  path = '';
  state: SolarState | undefined;
  blocks = 0;
  private readonly o: EmulatorOptions;
  private readonly model: SolarDay;
  private pty: PtyPair | undefined;
  private stream: Duplex | undefined;
  private link: OpenLink | undefined;
  private timer: TimerHandle | undefined;
  private stopper: (() => void) | undefined;

  constructor(options: EmulatorOptions) {
    this.o = options;
    this.model = new SolarDay(options.model);
  }

  get ptyPid(): number | undefined {
    return this.pty?.pid;
  }

  async start(): Promise<void> {
    let target: string;
    if (this.o.pty) {
      this.pty = await spawnPtyPair(this.o.pty);
      this.path = this.o.pty;
      target = this.pty.peer;
    } else if (this.o.device) {
      this.path = target = this.o.device;
    } else throw new Error('Emulator needs pty or device');
    const baud = this.o.protocol === 'vedirect' ? 19200 : this.o.protocol === 'modbus-renogy' ? RENOGY.defaultBaud : this.o.protocol === 'modbus-epever' ? EPEVER.defaultBaud : 115200;
    this.link = await serialLink({ path: target, baudRate: baud, createPort: this.o.createPort }).open();
    this.stream = this.link.stream;
    this.stream.on('error', (err) => this.o.logger.warn({ err: describeError(err) }, 'emulator port error'));
    this.state = this.model.step(0);
    this.attachProtocol(this.stream);
    this.tick();
  }

  async stop(): Promise<void> {
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.stopper?.();
    this.stream = undefined;
    await this.link?.close();
    this.link = undefined;
    await this.pty?.close();
    this.pty = undefined;
  }

  private tick(): void {
    const tickMs = this.o.tickMs ?? 1000;
    this.timer = this.o.clock.setTimeout(() => {
      this.state = this.model.step((tickMs / 1000) * (this.o.speed ?? 1));
      if (this.o.protocol === 'vedirect') this.writeBlock();
      this.tick();
    }, tickMs);
  }

  private writeBlock(): void {
    const s = this.stream;
    if (!s || !s.writable) return;
    this.blocks++;
    const every = this.o.hexEvery ?? 5;
    // VE.Direct: a HEX notification (here: "Get" of 0xEDD5 battery voltage) may precede a block.
    if (every > 0 && this.blocks % every === 0) s.write(':7D5ED0099\n');
    s.write(encodeVeDirectBlock(veDirectFields(this.state!)));
  }

  private attachProtocol(stream: Duplex): void {
    const current = () => this.state!;
    switch (this.o.protocol) {
      case 'vedirect':
        return;
      case 'mcu': {
        const dev = new McuDevice({
          stream,
          clock: this.o.clock,
          sampleIntervalMs: this.o.tickMs ?? 1000,
          sample: () => {
            const s = current();
            return {
              batteryMilliVolts: s.batteryVoltage * 1000,
              batteryMilliAmps: s.batteryCurrent * 1000,
              pvMilliVolts: s.pvVoltage * 1000,
              pvMilliWatts: s.pvPower * 1000,
              loadMilliWatts: s.loadPower * 1000,
              socPerMille: s.soc * 1000,
            };
          },
        });
        dev.start();
        this.stopper = () => dev.stop();
        return;
      }
      case 'modbus-epever':
      case 'modbus-renogy': {
        const render = this.o.protocol === 'modbus-epever' ? epeverRegister : renogyRegister;
        const slave = new ModbusSlave({ stream, unit: 1, register: (fc, addr) => render(current(), fc, addr) });
        slave.start();
        this.stopper = () => slave.stop();
        return;
      }
    }
  }
}

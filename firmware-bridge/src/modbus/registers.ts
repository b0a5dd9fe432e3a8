import type { EnergyReading } from '../../../src/energy/reading.js';

/** One Modbus read the poller issues each cycle. */
export interface RegisterRead {
  /** 3 = read holding registers, 4 = read input registers. */
  fc: 3 | 4;
  address: number;
  count: number;
  /** When true a failed read (exception, timeout) does not fail the cycle. */
  optional?: boolean;
}

/** A charge-controller register map: what to read, and how to turn the words into SI values. */
export interface RegisterMap {
  name: string;
  defaultBaud: number;
  reads: RegisterRead[];
  /** `words[i]` holds the result of `reads[i]` (undefined when an optional read failed). */
  decode(words: Array<number[] | undefined>): Omit<EnergyReading, 'time' | 'source'>;
}

const u32 = (lo: number, hi: number) => ((hi << 16) | lo) >>> 0;
const i32 = (lo: number, hi: number) => (hi << 16) | lo;
const round = (v: number) => Math.round(v * 1e6) / 1e6;

/**
 * EPEver Tracer/XTRA/Triron (EPEver "Tracer-BN Modbus protocol" v2.5), input registers, ×0.01:
 * 0x3100 PV V, 0x3101 PV A, 0x3102/0x3103 PV W (L/H), 0x3104 battery V, 0x3105 charge A,
 * 0x310C load V, 0x310D load A, 0x310E/0x310F load W (L/H), 0x311A battery SOC %,
 * 0x331A battery V, 0x331B/0x331C battery net current A (signed L/H, + = charging).
 * Without 0x331B the net current is charge current − load current.
 */
export const EPEVER: RegisterMap = {
  name: 'epever',
  defaultBaud: 115200,
  reads: [
    { fc: 4, address: 0x3100, count: 16 },
    { fc: 4, address: 0x311a, count: 1 },
    { fc: 4, address: 0x331a, count: 3, optional: true },
  ],
  decode([rt, soc, bat]) {
    const r = rt!;
    const out: Omit<EnergyReading, 'time' | 'source'> = {
      batteryVoltage: r[4]! / 100,
      batteryCurrent: bat ? i32(bat[1]!, bat[2]!) / 100 : round(r[5]! / 100 - r[13]! / 100),
      pvVoltage: r[0]! / 100,
      pvPower: u32(r[2]!, r[3]!) / 100,
      loadPower: u32(r[14]!, r[15]!) / 100,
      extra: { pvCurrent: r[1]! / 100, chargeCurrent: r[5]! / 100, loadVoltage: r[12]! / 100, loadCurrent: r[13]! / 100 },
    };
    if (soc) out.soc = Math.min(100, soc[0]!) / 100;
    return out;
  },
};

/**
 * Renogy Rover/Wanderer/Adventurer (Renogy "ROVER Modbus" v1.7), holding registers at 0x0100:
 * SOC %, battery V ×0.1, charge A ×0.01, temperatures, load V ×0.1, load A ×0.01, load W,
 * PV V ×0.1, PV A ×0.01, PV W. Net battery current = charge current − load current.
 */
export const RENOGY: RegisterMap = {
  name: 'renogy',
  defaultBaud: 9600,
  reads: [{ fc: 3, address: 0x0100, count: 10 }],
  decode([w]) {
    const r = w!;
    return {
      batteryVoltage: r[1]! / 10,
      batteryCurrent: round(r[2]! / 100 - r[5]! / 100),
      soc: Math.min(100, r[0]!) / 100,
      pvVoltage: r[7]! / 10,
      pvPower: r[9]!,
      loadPower: r[6]!,
      extra: { chargeCurrent: r[2]! / 100, loadCurrent: r[5]! / 100, controllerTemp: (r[3]! >> 8) << 24 >> 24, batteryTemp: (r[3]! & 0xff) << 24 >> 24 },
    };
  },
};

import type { SolarState } from './solar-model.js';

const r = Math.round;

/** The fields a Victron SmartSolar MPPT 100/20 sends (VE.Direct Protocol v3.3 "MPPT" list). */
export function veDirectFields(s: SolarState): Array<[string, string]> {
  const loadAmps = s.batteryVoltage > 0 ? s.loadPower / s.batteryVoltage : 0;
  return [
    ['PID', '0xA060'],
    ['FW', '161'],
    ['SER#', 'HQ2249EMU01'],
    ['V', String(r(s.batteryVoltage * 1000))],
    ['I', String(r(s.batteryCurrent * 1000))],
    ['VPV', String(r(s.pvVoltage * 1000))],
    ['PPV', String(r(s.pvPower))],
    ['CS', String(s.chargeState)],
    ['MPPT', s.chargeState === 0 ? '0' : s.chargeState === 5 ? '1' : '2'],
    ['OR', s.chargeState === 0 ? '0x00000001' : '0x00000000'],
    ['ERR', '0'],
    ['LOAD', s.loadPower > 0 ? 'ON' : 'OFF'],
    ['IL', String(r(loadAmps * 1000))],
    ['H19', '0'],
    ['H20', '0'],
    ['H21', '0'],
    ['H22', '0'],
    ['H23', '0'],
    ['HSDS', '0'],
  ];
}

const lo = (v: number) => v & 0xffff;
const hi = (v: number) => (v >>> 16) & 0xffff;

/** EPEver input registers (see modbus/registers.ts EPEVER) rendered from the model; undefined = illegal address. */
export function epeverRegister(s: SolarState, fc: 3 | 4, address: number): number | undefined {
  if (fc !== 4) return undefined;
  const pvA = s.pvVoltage > 1 ? s.pvPower / s.pvVoltage : 0;
  const chargeA = Math.max(0, s.batteryCurrent + s.loadPower / s.batteryVoltage);
  const loadA = s.loadPower / s.batteryVoltage;
  const pvW = r(s.pvPower * 100);
  const loadW = r(s.loadPower * 100);
  const chargeW = r(chargeA * s.batteryVoltage * 100);
  const net = r(s.batteryCurrent * 100) | 0;
  const map: Record<number, number> = {
    0x3100: r(s.pvVoltage * 100), 0x3101: r(pvA * 100), 0x3102: lo(pvW), 0x3103: hi(pvW),
    0x3104: r(s.batteryVoltage * 100), 0x3105: r(chargeA * 100), 0x3106: lo(chargeW), 0x3107: hi(chargeW),
    0x3108: 0, 0x3109: 0, 0x310a: 0, 0x310b: 0,
    0x310c: r(s.batteryVoltage * 100), 0x310d: r(loadA * 100), 0x310e: lo(loadW), 0x310f: hi(loadW),
    0x311a: r(s.soc * 100),
    0x331a: r(s.batteryVoltage * 100), 0x331b: lo(net), 0x331c: hi(net),
  };
  return map[address];
}

/** Renogy Rover holding registers 0x0100..0x0109 rendered from the model. */
export function renogyRegister(s: SolarState, fc: 3 | 4, address: number): number | undefined {
  if (fc !== 3) return undefined;
  const loadA = s.loadPower / s.batteryVoltage;
  const chargeA = Math.max(0, s.batteryCurrent + loadA);
  const words = [r(s.soc * 100), r(s.batteryVoltage * 10), r(chargeA * 100), (25 << 8) | 20, r(s.batteryVoltage * 10), r(loadA * 100), r(s.loadPower), r(s.pvVoltage * 10), r((s.pvVoltage > 1 ? s.pvPower / s.pvVoltage : 0) * 100), r(s.pvPower)];
  return address >= 0x0100 && address < 0x0100 + words.length ? words[address - 0x0100] : undefined;
}

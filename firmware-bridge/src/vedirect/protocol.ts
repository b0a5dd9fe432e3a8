import type { EnergyReading } from '../../../src/energy/reading.js';
import type { VeDirectFrame } from './framing.js';

/** Result of mapping one checked block: a reading, nothing (a block without `V`), or a rejection. */
export type VeDirectDecode = { reading: EnergyReading } | { reject: string } | undefined;

/**
 * VE.Direct field labels and units (VE.Direct Protocol v3.3 "Text-mode fields"): `V` battery mV,
 * `I` battery mA (+ = charging), `VPV` panel mV, `PPV` panel W, `SOC` per mille, `IL` load mA,
 * `P` battery W, `CS` charger state, `ERR` error code, `LOAD` ON/OFF, `T` °C, `CE` consumed mAh.
 */
const MAPPED = new Set(['V', 'I', 'VPV', 'PPV', 'SOC', 'IL']);

/** Integer-valued labels kept as numbers in `extra` (the rest stay strings: PID, SER#, FW, LOAD...). */
const INTEGER_EXTRA = new Set(['CS', 'ERR', 'MPPT', 'OR', 'P', 'T', 'CE', 'TTG', 'AR', 'H19', 'H20', 'H21', 'H22', 'H23', 'HSDS', 'VS', 'VM', 'DM']);

function int(value: string): number | undefined {
  return /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : undefined;
}

/**
 * Map a checked VE.Direct block to an {@link EnergyReading} in SI units. A block without `V` (a BMV's
 * second, history-only block) yields `undefined`; `V` or `I` missing/non-numeric, or `---` where a
 * number is required, yields a rejection naming the field. Unmapped fields go to `extra`.
 */
export function decodeVeDirect(frame: VeDirectFrame, meta: { source: string; time: number }): VeDirectDecode {
  const f = new Map(frame.fields);
  if (!f.has('V')) return undefined;
  const mv = int(f.get('V')!);
  if (mv === undefined) return { reject: `field V is not an integer: "${f.get('V')}"` };
  const rawI = f.get('I');
  const ma = rawI === undefined ? undefined : int(rawI);
  if (ma === undefined) return { reject: rawI === undefined ? 'field I (battery current) missing' : `field I is not an integer: "${rawI}"` };
  const reading: EnergyReading = { time: meta.time, source: meta.source, batteryVoltage: mv / 1000, batteryCurrent: ma / 1000 };
  const vpv = f.has('VPV') ? int(f.get('VPV')!) : undefined;
  if (vpv !== undefined) reading.pvVoltage = vpv / 1000;
  const ppv = f.has('PPV') ? int(f.get('PPV')!) : undefined;
  if (ppv !== undefined) reading.pvPower = ppv;
  const soc = f.has('SOC') ? int(f.get('SOC')!) : undefined;
  if (soc !== undefined) {
    if (soc < 0 || soc > 1000) return { reject: `field SOC out of range 0..1000: ${soc}` };
    reading.soc = soc / 1000;
  }
  const il = f.has('IL') ? int(f.get('IL')!) : undefined;
  if (il !== undefined) reading.loadPower = Math.round(il * mv) / 1e6; // mA × mV = µW
  const extra: Record<string, string | number> = {};
  for (const [label, value] of frame.fields) {
    if (MAPPED.has(label)) continue;
    const n = INTEGER_EXTRA.has(label) ? int(value) : undefined;
    extra[label] = n ?? value;
  }
  if (Object.keys(extra).length > 0) reading.extra = extra;
  return { reading };
}

/** Encode fields as one VE.Direct TEXT block with a correct `Checksum` byte (emulator and tests). */
export function encodeVeDirectBlock(fields: Array<[string, string]>): Buffer {
  const body = Buffer.from(fields.map(([l, v]) => `\r\n${l}\t${v}`).join('') + '\r\nChecksum\t', 'latin1');
  let sum = 0;
  for (const b of body) sum = (sum + b) & 0xff;
  return Buffer.concat([body, Buffer.from([(256 - sum) & 0xff])]);
}

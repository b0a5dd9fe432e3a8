/**
 * Open-circuit voltage → SOC curves, as a fraction of the pack's nominal voltage so one table serves
 * 1S/4S packs. Points are typical rested values from cell datasheets (LiFePO4 "12.8 V" pack: 13.6 V full,
 * 13.0 V at 50 %, 12.0 V at 10 %; Li-ion 1S: 4.20 V full, 3.82 V at 50 %; lead-acid 12 V: 12.73 V full,
 * 12.10 V at 50 %). Used only to re-anchor coulomb counting at rest, never under load.
 */
export type Chemistry = 'lifepo4' | 'li-ion' | 'lead-acid';

const NOMINAL: Record<Chemistry, number> = { lifepo4: 12.8, 'li-ion': 3.7, 'lead-acid': 12.0 };

/** [soc, volts] at the reference nominal voltage above, SOC ascending. */
const CURVES: Record<Chemistry, Array<[number, number]>> = {
  lifepo4: [[0, 10.0], [0.1, 12.0], [0.2, 12.6], [0.3, 12.8], [0.4, 12.9], [0.5, 13.0], [0.6, 13.1], [0.7, 13.2], [0.8, 13.3], [0.9, 13.4], [1, 13.6]],
  'li-ion': [[0, 3.3], [0.1, 3.68], [0.2, 3.74], [0.3, 3.77], [0.4, 3.79], [0.5, 3.82], [0.6, 3.87], [0.7, 3.92], [0.8, 3.98], [0.9, 4.06], [1, 4.2]],
  'lead-acid': [[0, 11.3], [0.1, 11.51], [0.2, 11.66], [0.3, 11.81], [0.4, 11.96], [0.5, 12.1], [0.6, 12.24], [0.7, 12.37], [0.8, 12.5], [0.9, 12.62], [1, 12.73]],
};

/** SOC 0..1 from a rested pack voltage (linear between table points, clamped). */
export function socFromVoltage(volts: number, chemistry: Chemistry, nominalVoltage: number): number {
  const v = (volts / nominalVoltage) * NOMINAL[chemistry];
  const curve = CURVES[chemistry];
  if (v <= curve[0]![1]) return 0;
  for (let i = 1; i < curve.length; i++) {
    const [s1, v1] = curve[i]!;
    const [s0, v0] = curve[i - 1]!;
    if (v <= v1) return s0 + ((v - v0) / (v1 - v0)) * (s1 - s0);
  }
  return 1;
}

/** Rested pack voltage for a SOC (the inverse of `socFromVoltage`), used by the simulator. */
export function voltageFromSoc(soc: number, chemistry: Chemistry, nominalVoltage: number): number {
  const curve = CURVES[chemistry];
  const s = Math.min(1, Math.max(0, soc));
  let v = curve[curve.length - 1]![1];
  for (let i = 1; i < curve.length; i++) {
    const [s1, v1] = curve[i]!;
    const [s0, v0] = curve[i - 1]!;
    if (s <= s1) {
      v = v0 + ((s - s0) / (s1 - s0)) * (v1 - v0);
      break;
    }
  }
  return (v / NOMINAL[chemistry]) * nominalVoltage;
}

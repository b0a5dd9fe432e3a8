/**
 * Second task: appliance recognition from household power signatures (non-intrusive load monitoring).
 *
 * Each example is 10 mains cycles of one appliance's current (sampled at 128 points per cycle) after
 * it switched on, with mains voltage 230 V ± 4 % at 50 Hz (or 120 V at 60 Hz in the `us` domain).
 * The current waveforms follow the load types' physics:
 *   kettle, hair-dryer     resistive (hair-dryer adds a small motor and half-wave low setting)
 *   fridge                 induction motor: lagging PF 0.6-0.8, 5-8x inrush, small 3rd harmonic
 *   washing-machine        drum motor: lagging PF, strong cycle-to-cycle variation
 *   vacuum-cleaner         universal motor: PF ~0.9, commutator noise, odd harmonics
 *   microwave              half-wave magnetron supply: DC and even harmonics
 *   laptop-charger, led-lamp  capacitor-input rectifiers: narrow current pulses at voltage peaks
 *   television             active-PFC supply: near-sinusoidal current with switching ripple
 *   induction-hob          large active-PFC load with HF ripple
 * Features (16, `APPLIANCE_FEATURES`): log real power, power factor, harmonics relative to the
 * fundamental, THD, crest factor, DC ratio, cycle-to-cycle variation and inrush ratio.
 */
import { createRng, type Rng } from '../../util/prng.js';
import { bandPower, logEnergy, moments, powerSpectrum } from './signal.js';
import type { LabeledDataset } from './dataset.js';

export const APPLIANCE_CLASSES = [
  'kettle', 'fridge', 'microwave', 'washing-machine', 'led-lamp', 'laptop-charger', 'vacuum-cleaner', 'hair-dryer', 'television', 'induction-hob',
] as const;
export type ApplianceClass = (typeof APPLIANCE_CLASSES)[number];

export const APPLIANCE_FEATURES = [
  'log_real_power', 'power_factor', 'log_irms', 'h2_rel', 'h3_rel', 'h5_rel', 'h7_rel', 'h9_rel', 'h11_rel',
  'thd', 'crest_factor', 'dc_ratio', 'hf_ratio', 'cycle_variation', 'inrush_ratio', 'phase_shift',
] as const;

const SPC = 128; // samples per cycle
const CYCLES = 16; // 16 cycles → 2048 samples (power of two for the FFT); first 2 are the switch-on

export interface ApplianceDomain {
  vrms: number;
  mainsHz: number;
  /** Relative spread of the appliance's rated power across households. */
  powerSpread: number;
  /** Measurement noise (fraction of rms current). */
  noise: number;
}

export const APPLIANCE_DOMAINS: Record<'eu' | 'us', ApplianceDomain> = {
  eu: { vrms: 230, mainsHz: 50, powerSpread: 0.25, noise: 0.02 },
  us: { vrms: 120, mainsHz: 60, powerSpread: 0.35, noise: 0.03 },
};

export interface ApplianceDatasetOptions {
  n: number;
  /** Default 1. */
  seed?: number;
  /** Default all 10. */
  classes?: readonly ApplianceClass[];
  /** Default 'eu'. */
  domain?: 'eu' | 'us' | ApplianceDomain;
}

const RATED: Record<ApplianceClass, [number, number]> = {
  kettle: [1800, 3000], fridge: [80, 200], microwave: [900, 1500], 'washing-machine': [200, 600], 'led-lamp': [5, 20],
  'laptop-charger': [30, 90], 'vacuum-cleaner': [600, 1400], 'hair-dryer': [1000, 2000], television: [60, 180], 'induction-hob': [1200, 3000],
};

/** Synthesize the current waveform (amps, CYCLES × 128 samples) and the voltage of one appliance. */
export function applianceWaveform(cls: ApplianceClass, rng: Rng, domain: ApplianceDomain = APPLIANCE_DOMAINS.eu): { current: Float64Array; voltage: Float64Array } {
  const n = SPC * CYCLES;
  const vpk = domain.vrms * Math.SQRT2 * rng.range(0.96, 1.04);
  const [lo, hi] = RATED[cls];
  const power = rng.range(lo, hi) * (1 + domain.powerSpread * (rng.next() - 0.5));
  const ipk = (2 * power) / vpk; // peak of an in-phase sinusoid carrying `power`
  const v = new Float64Array(n);
  const i = new Float64Array(n);
  const theta = (k: number) => (2 * Math.PI * k) / SPC;
  const phi = rng.range(0.5, 0.9); // motor lag, rad
  const pulse = rng.range(0.75, 0.92); // rectifier conduction threshold
  const inrush = cls === 'fridge' ? rng.range(5, 8) : cls === 'vacuum-cleaner' || cls === 'washing-machine' ? rng.range(2, 4) : cls === 'kettle' || cls === 'hair-dryer' ? rng.range(1.0, 1.15) : rng.range(1.5, 3);
  const halfWave = cls === 'hair-dryer' && rng.next() < 0.3;
  const drumPeriod = SPC * rng.range(3, 5); // washing-machine drum load period, samples
  for (let k = 0; k < n; k++) {
    const t = theta(k);
    v[k] = vpk * Math.sin(t);
    const s = Math.sin(t);
    let c: number;
    switch (cls) {
      case 'kettle':
        c = ipk * s;
        break;
      case 'hair-dryer':
        c = ipk * (halfWave ? Math.max(0, s) * 2 : s) + 0.08 * ipk * Math.sin(t - 0.7);
        break;
      case 'fridge':
        c = (ipk / Math.cos(0.7)) * Math.sin(t - phi * 0.9) + 0.06 * ipk * Math.sin(3 * t);
        break;
      case 'washing-machine':
        c = (ipk / Math.cos(phi)) * Math.sin(t - phi) * (1 + 0.3 * Math.sin((2 * Math.PI * k) / drumPeriod));
        break;
      case 'vacuum-cleaner':
        c = ipk * 1.1 * Math.sin(t - 0.3) + 0.12 * ipk * Math.sin(3 * t) + 0.05 * ipk * rng.normal();
        break;
      case 'microwave':
        c = ipk * 1.6 * Math.max(0, s) ** 1.5 - 0.2 * ipk * Math.max(0, -s);
        break;
      case 'laptop-charger':
      case 'led-lamp': {
        const th = cls === 'led-lamp' ? pulse + 0.04 : pulse;
        const a = Math.abs(s);
        c = a > th ? Math.sign(s) * ipk * 4.5 * ((a - th) / (1 - th)) : 0;
        break;
      }
      case 'television':
        c = ipk * s * 1.02 + 0.04 * ipk * Math.sin(37 * t);
        break;
      case 'induction-hob':
        c = ipk * s + 0.08 * ipk * Math.sin(61 * t) * Math.abs(s);
        break;
    }
    // Switch-on transient over the first two cycles, decaying toward steady state.
    if (k < 2 * SPC) c *= 1 + (inrush - 1) * Math.exp(-k / (0.6 * SPC));
    i[k] = c;
  }
  const { rms } = moments(i.subarray(2 * SPC));
  for (let k = 0; k < n; k++) i[k]! += domain.noise * rms * rng.normal();
  return { current: i, voltage: v };
}

/** Compute the 16 `APPLIANCE_FEATURES` from a waveform pair. */
export function applianceFeatures(current: Float64Array, voltage: Float64Array): number[] {
  const steadyI = current.subarray(2 * SPC);
  const steadyV = voltage.subarray(2 * SPC);
  let p = 0;
  for (let k = 0; k < steadyI.length; k++) p += (steadyI[k]! * steadyV[k]!) / steadyI.length;
  const mi = moments(steadyI);
  const vrms = moments(steadyV).rms;
  const pf = p / (vrms * mi.rms || 1e-12);
  // FFT over the last 8 cycles (1024 samples): harmonic h sits at bin 8h.
  const spec = powerSpectrum(Float64Array.from(current.subarray(current.length - 8 * SPC)));
  const harm = (h: number) => Math.sqrt(spec[8 * h]! + spec[8 * h - 1]! + spec[8 * h + 1]!);
  const h1 = harm(1) || 1e-12;
  let thd = 0;
  for (let h = 2; h <= 40; h++) thd += harm(h) ** 2;
  const hf = bandPower(spec, 1, 8 * 20, spec.length) / (bandPower(spec, 1, 0, spec.length) || 1e-12);
  const cycleRms: number[] = [];
  for (let c = 2; c < current.length / SPC; c++) cycleRms.push(moments(current.subarray(c * SPC, (c + 1) * SPC)).rms);
  const cm = cycleRms.reduce((a, b) => a + b, 0) / cycleRms.length;
  const cv = Math.sqrt(cycleRms.reduce((a, b) => a + (b - cm) ** 2, 0) / cycleRms.length) / (cm || 1e-12);
  const firstPeak = moments(current.subarray(0, SPC)).peak;
  // Phase of the fundamental relative to the voltage: cross-correlation at quarter-cycle lag.
  let ci = 0;
  let cq = 0;
  for (let k = 0; k < steadyI.length; k++) {
    ci += steadyI[k]! * Math.sin((2 * Math.PI * k) / SPC);
    cq += steadyI[k]! * Math.cos((2 * Math.PI * k) / SPC);
  }
  return [
    Math.log10(Math.max(p, 0.1)), pf, logEnergy(mi.rms ** 2) / 2,
    harm(2) / h1, harm(3) / h1, harm(5) / h1, harm(7) / h1, harm(9) / h1, harm(11) / h1,
    Math.sqrt(thd) / h1, mi.peak / (mi.rms || 1e-12), Math.abs(mi.mean) / (mi.rms || 1e-12), hf, cv,
    firstPeak / (mi.peak || 1e-12), Math.atan2(-cq, ci),
  ];
}

/** Generate `n` labeled rows (classes round-robin, then shuffled with the same seed). */
export function generateApplianceDataset(opts: ApplianceDatasetOptions): LabeledDataset {
  const rng = createRng(opts.seed ?? 1);
  const domain = typeof opts.domain === 'object' ? opts.domain : APPLIANCE_DOMAINS[opts.domain ?? 'eu'];
  const classes = opts.classes ?? APPLIANCE_CLASSES;
  const X: number[][] = [];
  const y: string[] = [];
  for (let k = 0; k < opts.n; k++) {
    const cls = classes[k % classes.length]!;
    const w = applianceWaveform(cls, rng, domain);
    X.push(applianceFeatures(w.current, w.voltage).map((v) => Math.fround(v)));
    y.push(cls);
  }
  const order = Array.from({ length: opts.n }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return { name: 'appliance-power', featureNames: [...APPLIANCE_FEATURES], X: order.map((i) => X[i]!), y: order.map((i) => y[i]!) };
}

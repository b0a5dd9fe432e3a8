/**
 * The demo's sensor task: machine-condition recognition from accelerometer windows.
 *
 * Each example is a synthetic 0.2 s vibration window (fs 5120 Hz, 1024 samples) of a rotating
 * machine at a random shaft speed, with one of 8 conditions injected the way condition-monitoring
 * textbooks describe their signatures (ISO 10816 style):
 *   normal        small 1x component + noise
 *   imbalance     strong 1x (once per revolution)
 *   misalignment  strong 2x (and 3x) harmonics
 *   bearing-outer impacts at BPFO = 3.58 x shaft, each ringing a 1.8-2.4 kHz structural resonance
 *   bearing-inner impacts at BPFI = 5.42 x shaft, amplitude-modulated by the shaft rotation
 *   looseness     many harmonics 1x..8x, a 0.5x sub-harmonic and clipped (truncated) peaks
 *   cavitation    broadband high-frequency noise in random bursts
 *   electrical    2 x line frequency (100 Hz on 50 Hz mains) with slip sidebands
 * Features (20, `SENSOR_FEATURES`): time-domain statistics, order-normalized spectral energies (the
 * shaft speed is known from a tachometer), absolute high-frequency bands and envelope-spectrum peaks.
 * Everything is seeded: the same options give the same rows on every platform.
 */
import { createRng, type Rng } from '../../util/prng.js';
import { bandPower, logEnergy, moments, powerSpectrum } from './signal.js';
import type { LabeledDataset } from './dataset.js';

export const SENSOR_CLASSES = ['normal', 'imbalance', 'misalignment', 'bearing-outer', 'bearing-inner', 'looseness', 'cavitation', 'electrical'] as const;
export type SensorClass = (typeof SENSOR_CLASSES)[number];

export const SENSOR_FEATURES = [
  'rms', 'peak', 'crest_factor', 'kurtosis', 'skewness', 'shaft_hz',
  'order_0_5x', 'order_1x', 'order_2x', 'order_3x', 'order_4_8x', 'line_2x',
  'band_0_500', 'band_500_1000', 'band_1000_1500', 'band_1500_2000', 'band_2000_2560',
  'env_bpfo', 'env_bpfi', 'env_1x',
] as const;

const FS = 5120;
const N = 1024;
const BPFO = 3.58;
const BPFI = 5.42;

/**
 * A population of machines. `bench` = the public test-rig recordings the shipped encoder was
 * pre-trained on; `fleet` = the boards in the field (wider speed range, different mounting gain,
 * more noise, 50 or 60 Hz mains). Custom domains are allowed.
 */
export interface SensorDomain {
  /** Shaft speed range, Hz. */
  shaftHz: [number, number];
  /** Sensor/mounting gain range (multiplies the whole signal). */
  gain: [number, number];
  /** Background noise std. */
  noise: number;
  /** Mains frequencies the machines run on. */
  mainsHz: number[];
}

export const SENSOR_DOMAINS: Record<'bench' | 'fleet', SensorDomain> = {
  bench: { shaftHz: [20, 40], gain: [0.9, 1.1], noise: 0.05, mainsHz: [50] },
  fleet: { shaftHz: [15, 50], gain: [0.6, 1.5], noise: 0.08, mainsHz: [50, 60] },
};

export interface SensorDatasetOptions {
  /** Number of rows. */
  n: number;
  /** PRNG seed. Default 1. */
  seed?: number;
  /** Classes to draw from, uniformly (round-robin). Default all 8. */
  classes?: readonly SensorClass[];
  /** Machine population: a name or a custom domain. Default 'fleet'. */
  domain?: 'bench' | 'fleet' | SensorDomain;
  /**
   * Per-machine signature shift (0 = none): scales the severity of every fault by a machine-specific
   * factor derived from `seed`, giving non-identical nodes. Default 0.
   */
  machineShift?: number;
}

/** Synthesize one raw vibration window (1024 samples at 5120 Hz). Exposed for tests and plots. */
export function sensorWindow(cls: SensorClass, rng: Rng, domain: SensorDomain = SENSOR_DOMAINS.fleet, severity = 1): { signal: Float64Array; shaftHz: number; mainsHz: number } {
  const f1 = rng.range(domain.shaftHz[0], domain.shaftHz[1]);
  const mainsHz = domain.mainsHz[rng.int(domain.mainsHz.length)]!;
  const gain = rng.range(domain.gain[0], domain.gain[1]);
  const sev = severity * rng.range(0.6, 1.4);
  const x = new Float64Array(N);
  const ph = () => rng.range(0, 2 * Math.PI);
  const tone = (f: number, a: number, p = ph()) => {
    for (let i = 0; i < N; i++) x[i]! += a * Math.sin((2 * Math.PI * f * i) / FS + p);
  };
  const impacts = (rateHz: number, amp: number, modulate: boolean) => {
    const fres = rng.range(1800, 2400);
    const decay = rng.range(250, 450);
    const p = ph();
    for (let t0 = rng.range(0, 1 / rateHz); t0 < N / FS; t0 += 1 / rateHz) {
      const a = amp * (modulate ? 0.6 + 0.4 * Math.cos(2 * Math.PI * f1 * t0 + p) : 1) * rng.range(0.8, 1.2);
      const start = Math.floor(t0 * FS);
      for (let i = start; i < Math.min(N, start + 200); i++) {
        const dt = (i - start) / FS;
        x[i]! += a * Math.exp(-decay * dt) * Math.sin(2 * Math.PI * fres * dt);
      }
    }
  };
  tone(f1, 0.1 + 0.05 * rng.next());
  switch (cls) {
    case 'normal':
      break;
    case 'imbalance':
      tone(f1, 0.8 * sev);
      break;
    case 'misalignment':
      tone(f1, 0.25 * sev);
      tone(2 * f1, 0.7 * sev);
      tone(3 * f1, 0.25 * sev);
      break;
    case 'bearing-outer':
      impacts(BPFO * f1, 1.0 * sev, false);
      break;
    case 'bearing-inner':
      impacts(BPFI * f1, 0.9 * sev, true);
      break;
    case 'looseness': {
      tone(0.5 * f1, 0.25 * sev);
      for (let k = 1; k <= 8; k++) tone(k * f1, (0.35 * sev) / Math.sqrt(k));
      const clip = 0.5 * Math.max(...x.map(Math.abs));
      for (let i = 0; i < N; i++) if (x[i]! > clip) x[i] = clip;
      break;
    }
    case 'cavitation': {
      let prev = 0;
      let burst = 0;
      for (let i = 0; i < N; i++) {
        if (rng.next() < 0.01) burst = rng.range(0.5, 1.0) * sev;
        burst *= 0.985;
        const w = rng.normal();
        x[i]! += (w - prev) * 0.5 * (0.1 + burst); // differencing = crude high-pass
        prev = w;
      }
      break;
    }
    case 'electrical': {
      const slip = rng.range(0.5, 2);
      tone(2 * mainsHz, 0.6 * sev);
      tone(2 * mainsHz - slip * 2, 0.15 * sev);
      tone(2 * mainsHz + slip * 2, 0.15 * sev);
      break;
    }
  }
  for (let i = 0; i < N; i++) x[i] = gain * (x[i]! + domain.noise * rng.normal());
  return { signal: x, shaftHz: f1, mainsHz };
}

/** Compute the 20 `SENSOR_FEATURES` of one window. */
export function sensorFeatures(signal: Float64Array, shaftHz: number, mainsHz: number): number[] {
  const m = moments(signal);
  const spec = powerSpectrum(signal);
  const bin = FS / N;
  const around = (f: number) => bandPower(spec, bin, f - 1.5 * bin, f + 1.5 * bin);
  let orders48 = 0;
  for (let k = 4; k <= 8; k++) orders48 += around(k * shaftHz);
  // Envelope spectrum: |high-passed signal| (rectified), mean removed.
  const env = new Float64Array(N);
  for (let i = 1; i < N; i++) env[i] = Math.abs(signal[i]! - signal[i - 1]!);
  const envMean = env.reduce((a, b) => a + b, 0) / N;
  for (let i = 0; i < N; i++) env[i]! -= envMean;
  const envSpec = powerSpectrum(env);
  const envTotal = envSpec.reduce((a, b) => a + b, 0) + 1e-12;
  const envAt = (f: number) => bandPower(envSpec, bin, f - 1.5 * bin, f + 1.5 * bin) / envTotal;
  return [
    m.rms, m.peak, m.peak / (m.rms || 1e-12), m.kurtosis, m.skewness, shaftHz,
    logEnergy(around(0.5 * shaftHz)), logEnergy(around(shaftHz)), logEnergy(around(2 * shaftHz)), logEnergy(around(3 * shaftHz)), logEnergy(orders48),
    logEnergy(around(2 * mainsHz)),
    logEnergy(bandPower(spec, bin, 0, 500)), logEnergy(bandPower(spec, bin, 500, 1000)), logEnergy(bandPower(spec, bin, 1000, 1500)),
    logEnergy(bandPower(spec, bin, 1500, 2000)), logEnergy(bandPower(spec, bin, 2000, 2561)),
    envAt(BPFO * shaftHz), envAt(BPFI * shaftHz), envAt(shaftHz),
  ];
}

/** Generate `n` labeled feature rows (classes round-robin, then shuffled by the same seed). */
export function generateSensorDataset(opts: SensorDatasetOptions): LabeledDataset {
  const seed = opts.seed ?? 1;
  const rng = createRng(seed);
  const domain = typeof opts.domain === 'object' ? opts.domain : SENSOR_DOMAINS[opts.domain ?? 'fleet'];
  const classes = opts.classes ?? SENSOR_CLASSES;
  const severity = 1 + (opts.machineShift ?? 0) * (createRng(seed ^ 0x5eed).next() * 2 - 1);
  const X: number[][] = [];
  const y: string[] = [];
  for (let i = 0; i < opts.n; i++) {
    const cls = classes[i % classes.length]!;
    const w = sensorWindow(cls, rng, domain, severity);
    X.push(sensorFeatures(w.signal, w.shaftHz, w.mainsHz).map((v) => Math.fround(v)));
    y.push(cls);
  }
  const order = Array.from({ length: opts.n }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return { name: 'sensor-vibration', featureNames: [...SENSOR_FEATURES], X: order.map((i) => X[i]!), y: order.map((i) => y[i]!) };
}

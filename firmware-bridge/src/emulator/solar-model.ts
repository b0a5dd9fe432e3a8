import { mulberry32 } from '../../../src/util/prng.js';
import type { TracePoint } from './trace.js';

/** The simulated plant at one instant (SI units). */
export interface SolarState {
  /** Simulated seconds since local midnight of day 0. */
  simSeconds: number;
  pvVoltage: number;
  pvPower: number;
  batteryVoltage: number;
  /** + = charging. */
  batteryCurrent: number;
  soc: number;
  loadPower: number;
  /** VE.Direct charger state: 0 off, 3 bulk, 4 absorption, 5 float. */
  chargeState: number;
}

/** Options of {@link SolarDay}. */
export interface SolarDayOptions {
  /** PRNG seed for clouds. Default 1. */
  seed?: number;
  /** Simulated start, hours after midnight. Default 10. */
  startHour?: number;
  /** Panel peak power, W. Default 100. */
  panelWatts?: number;
  /** Battery capacity, Ah (LiFePO4 4S, 12.8 V nominal). Default 50. */
  batteryAh?: number;
  /** Initial state of charge 0..1. Default 0.6. */
  initialSoc?: number;
  /** Constant load, W. Default 6. */
  loadWatts?: number;
  /** Sunrise/sunset, hours. Default 6 and 20. */
  sunrise?: number;
  sunset?: number;
  /** Play PV (and load) power from a trace instead of the clear-sky model. */
  trace?: TracePoint[];
}

/** LiFePO4 4S open-circuit voltage vs SOC (flat plateau, steep ends). */
function ocv(soc: number): number {
  const pts: Array<[number, number]> = [[0, 11.6], [0.1, 12.8], [0.3, 13.1], [0.7, 13.25], [0.95, 13.4], [1, 13.6]];
  for (let i = 1; i < pts.length; i++) {
    const [s1, v1] = pts[i]!;
    const [s0, v0] = pts[i - 1]!;
    if (soc <= s1) return v0 + ((v1 - v0) * (soc - s0)) / (s1 - s0);
  }
  return 13.6;
}

/**
 * A solar day: clear-sky irradiance (a sine between sunrise and sunset, raised to 1.3), seeded cloud
 * passages (a two-state Markov chain per simulated minute, 20-80 % attenuation), an MPPT charger that
 * curtails when the battery is full, a coulomb-counted battery and a constant load with low-voltage
 * disconnect. With a trace, PV (and load) power come from it, interpolated and repeated.
 */
export class SolarDay {
  private readonly o: Required<Omit<SolarDayOptions, 'trace'>> & { trace?: TracePoint[] };
  private readonly rand: () => number;
  private t: number;
  private soc: number;
  private cloudy = false;
  private attenuation = 1;
  private nextCloudStep: number;

  constructor(options: SolarDayOptions = {}) {
    this.o = { seed: 1, startHour: 10, panelWatts: 100, batteryAh: 50, initialSoc: 0.6, loadWatts: 6, sunrise: 6, sunset: 20, ...options };
    this.rand = mulberry32(this.o.seed);
    this.t = this.o.startHour * 3600;
    this.soc = this.o.initialSoc;
    this.nextCloudStep = this.t;
  }

  /** Advance by `seconds` of simulated time and return the new state. */
  step(seconds: number): SolarState {
    this.t += seconds;
    const { pv, load: wantLoad } = this.powers();
    const full = this.soc >= 0.999;
    const load = this.soc <= 0.05 ? 0 : wantLoad;
    const pvUsed = full ? Math.min(pv, load) : pv;
    const v0 = ocv(this.soc);
    const current = (pvUsed * 0.96 - load) / v0;
    this.soc = Math.min(1, Math.max(0, this.soc + (current * seconds) / 3600 / this.o.batteryAh));
    const batteryVoltage = v0 + current * 0.02;
    return {
      simSeconds: this.t,
      pvVoltage: pv > 0 ? 17 + 2.5 * Math.min(1, pv / (this.o.panelWatts * 0.3)) : 0.5,
      pvPower: pvUsed,
      batteryVoltage,
      batteryCurrent: current,
      soc: this.soc,
      loadPower: load,
      chargeState: pvUsed <= 0 ? 0 : full ? 5 : this.soc > 0.95 ? 4 : 3,
    };
  }

  private powers(): { pv: number; load: number } {
    if (this.o.trace && this.o.trace.length > 0) return interpolate(this.o.trace, this.t - this.o.startHour * 3600, this.o.loadWatts);
    const h = (this.t / 3600) % 24;
    const day = this.o.sunset - this.o.sunrise;
    const clear = h > this.o.sunrise && h < this.o.sunset ? Math.sin((Math.PI * (h - this.o.sunrise)) / day) ** 1.3 : 0;
    while (this.nextCloudStep <= this.t) {
      this.nextCloudStep += 60;
      const r = this.rand();
      if (this.cloudy ? r < 0.15 : r < 0.05) {
        this.cloudy = !this.cloudy;
        this.attenuation = this.cloudy ? 0.2 + 0.6 * this.rand() : 1;
      }
    }
    return { pv: this.o.panelWatts * clear * this.attenuation, load: this.o.loadWatts };
  }
}

function interpolate(trace: TracePoint[], since: number, defaultLoad: number): { pv: number; load: number } {
  const span = trace[trace.length - 1]!.seconds - trace[0]!.seconds;
  const t = trace[0]!.seconds + (span > 0 ? ((since % span) + span) % span : 0);
  let i = 1;
  while (i < trace.length && trace[i]!.seconds < t) i++;
  const b = trace[Math.min(i, trace.length - 1)]!;
  const a = trace[Math.max(0, i - 1)]!;
  const f = b.seconds === a.seconds ? 0 : (t - a.seconds) / (b.seconds - a.seconds);
  const lerp = (x: number, y: number) => x + (y - x) * f;
  return { pv: lerp(a.pvWatts, b.pvWatts), load: a.loadWatts !== undefined && b.loadWatts !== undefined ? lerp(a.loadWatts, b.loadWatts) : defaultLoad };
}

import type { EnergyReading } from './reading.js';
import { socFromVoltage, type Chemistry } from './ocv.js';

/** Options of `EnergyEstimator`. */
export interface EnergyEstimatorOptions {
  /** Battery capacity, Wh (board profile or `energy.capacityWh`). Required. */
  capacityWh: number;
  /** Pack nominal voltage, V. Required. */
  nominalVoltage: number;
  /** Chemistry for the OCV curve. Required. */
  chemistry: Chemistry;
  /** EWMA half-life for voltage/current/PV/load, ms. Default 120000. */
  halfLifeMs?: number;
  /** |current| below this is "at rest", A. Default 0.15. */
  restCurrentA?: number;
  /** Time at rest before SOC is re-anchored from voltage, ms. Default 1800000 (30 min). */
  restMs?: number;
  /** Readings further apart than this are not integrated across (a gap, e.g. a reboot), ms. Default 300000. */
  maxGapMs?: number;
}

/** Smoothed energy state after the latest reading. */
export interface EnergyState {
  /** Wall time of the latest reading, ms. */
  time: number;
  source: string;
  /** State of charge 0..1. */
  soc: number;
  /** Where `soc` came from: the source itself, coulomb counting, or an OCV (voltage) anchor. */
  socSource: 'source' | 'coulomb' | 'voltage';
  batteryVoltage: number;
  batteryCurrent: number;
  pvPower: number;
  /** Load power: the reading's, or PV − battery power when the source has none. */
  loadPower: number;
  /** Power into the battery, W (negative = discharging). */
  batteryPower: number;
  /** Readings ingested so far. */
  readings: number;
}

/**
 * Smooths readings (time-aware EWMA: alpha = 1 − 2^(−dt/halfLife)) and tracks SOC (DESIGN section 6).
 * When the source gives SOC it is used as is. Otherwise SOC is coulomb counted: soc += I·dt / Ah
 * (trapezoid on the raw current, over monotonic time so a wall-clock jump cannot add charge), started
 * from the OCV curve at the first reading, and re-anchored from the smoothed voltage after `restMs`
 * with |I| < `restCurrentA` (rested voltage is a good SOC measure; loaded voltage is not).
 */
export class EnergyEstimator {
  private readonly capacityAh: number;
  private readonly halfLifeMs: number;
  private readonly restCurrentA: number;
  private readonly restMs: number;
  private readonly maxGapMs: number;
  private last: { mono: number; current: number } | undefined;
  private restSince: number | undefined;
  private current: EnergyState | undefined;

  constructor(private readonly options: EnergyEstimatorOptions) {
    this.capacityAh = options.capacityWh / options.nominalVoltage;
    this.halfLifeMs = options.halfLifeMs ?? 120_000;
    this.restCurrentA = options.restCurrentA ?? 0.15;
    this.restMs = options.restMs ?? 1_800_000;
    this.maxGapMs = options.maxGapMs ?? 300_000;
  }

  /** The latest state, or undefined before the first reading. */
  state(): EnergyState | undefined {
    return this.current;
  }

  /** Fold in one reading taken at monotonic time `monoMs`; returns the new state. */
  ingest(r: EnergyReading, monoMs: number): EnergyState {
    const prev = this.current;
    const dt = this.last ? monoMs - this.last.mono : 0;
    const gap = !this.last || dt < 0 || dt > this.maxGapMs;
    const alpha = prev === undefined || gap || this.halfLifeMs === 0 ? 1 : 1 - Math.pow(2, -dt / this.halfLifeMs);
    const ew = (old: number | undefined, v: number): number => (old === undefined ? v : old + alpha * (v - old));
    const pvRaw = r.pvPower ?? 0;
    const battPowerRaw = r.batteryVoltage * r.batteryCurrent;
    const loadRaw = r.loadPower ?? Math.max(0, pvRaw - battPowerRaw);
    const batteryVoltage = ew(prev?.batteryVoltage, r.batteryVoltage);
    const batteryCurrent = ew(prev?.batteryCurrent, r.batteryCurrent);

    let soc: number;
    let socSource: EnergyState['socSource'];
    if (r.soc !== undefined && Number.isFinite(r.soc)) {
      soc = r.soc;
      socSource = 'source';
    } else if (prev === undefined) {
      // Nothing to integrate from: anchor on the voltage curve (rough under load, corrected at rest).
      soc = this.socFromVolts(r.batteryVoltage);
      socSource = 'voltage';
    } else if (gap) {
      // A gap (reboot, lost serial line): keep the last SOC rather than integrate an unknown interval.
      soc = prev.soc;
      socSource = prev.socSource === 'source' ? 'coulomb' : prev.socSource;
    } else {
      const ah = ((this.last!.current + r.batteryCurrent) / 2) * (dt / 3_600_000);
      soc = prev.soc + ah / this.capacityAh;
      socSource = 'coulomb';
    }

    // Rest detection for re-anchoring (only when we are counting, not when the source gives SOC).
    if (Math.abs(r.batteryCurrent) < this.restCurrentA) {
      this.restSince ??= monoMs;
      if (socSource !== 'source' && monoMs - this.restSince >= this.restMs) {
        soc = this.socFromVolts(batteryVoltage);
        socSource = 'voltage';
        this.restSince = monoMs; // next anchor after another full rest period
      }
    } else {
      this.restSince = undefined;
    }

    this.last = { mono: monoMs, current: r.batteryCurrent };
    this.current = {
      time: r.time,
      source: r.source,
      soc: Math.min(1, Math.max(0, soc)),
      socSource,
      batteryVoltage,
      batteryCurrent,
      pvPower: ew(prev?.pvPower, pvRaw),
      loadPower: ew(prev?.loadPower, loadRaw),
      batteryPower: batteryVoltage * batteryCurrent,
      readings: (prev?.readings ?? 0) + 1,
    };
    return this.current;
  }

  private socFromVolts(v: number): number {
    return socFromVoltage(v, this.options.chemistry, this.options.nominalVoltage);
  }
}

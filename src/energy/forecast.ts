/** Options of `PvForecaster`. */
export interface PvForecasterOptions {
  /** Width of a time-of-day slot, minutes (must divide 1440). Default 15. */
  slotMinutes?: number;
  /** Offset of local solar time from UTC, minutes (longitude/15 h is a fair guess). Default 0. */
  utcOffsetMinutes?: number;
  /** Weight of the newest day when folding it into the time-of-day profile. Default 0.5. */
  dayWeight?: number;
  /** Look-back window for today's "weather factor", minutes. Default 180. */
  factorWindowMinutes?: number;
  /** Hours over which today's weather factor fades to the profile (e-folding). Default 6. */
  factorFadeHours?: number;
}

/**
 * Forecast of PV energy for the next hours (DESIGN section 6), deliberately simple:
 * 1. A time-of-day profile: mean PV watts per slot, folded day by day (EWMA, `dayWeight`).
 * 2. Today's trace: the watts seen per slot today. Over the last `factorWindowMinutes`,
 *    factor = today's energy / the profile's energy (clamped 0.05..1.5): cloudy today → below 1.
 * 3. Forecast over [now, now+H] = Σ slots profile[slot] · f(t) · slotHours, where
 *    f(t) = 1 + (factor − 1)·exp(−hoursAhead / factorFadeHours) (today's weather persists a few hours,
 *    then climatology takes over).
 * Before any full day exists the profile is a half-sine bell 06:00-18:00 scaled to the highest PV seen
 * so far (a clear-sky shape at the equinox); with no PV ever seen the forecast is 0.
 */
export class PvForecaster {
  private readonly slotMs: number;
  private readonly slots: number;
  private readonly offsetMs: number;
  private readonly dayWeight: number;
  private readonly factorWindowMs: number;
  private readonly fadeHours: number;
  private profile: Array<number | undefined>;
  private today: Array<{ sum: number; n: number }>;
  private day: number | undefined;
  private peakSeen = 0;
  private daysFolded = 0;

  constructor(options: PvForecasterOptions = {}) {
    const slotMinutes = options.slotMinutes ?? 15;
    this.slotMs = slotMinutes * 60_000;
    this.slots = Math.round(1440 / slotMinutes);
    this.offsetMs = (options.utcOffsetMinutes ?? 0) * 60_000;
    this.dayWeight = options.dayWeight ?? 0.5;
    this.factorWindowMs = (options.factorWindowMinutes ?? 180) * 60_000;
    this.fadeHours = options.factorFadeHours ?? 6;
    this.profile = new Array<number | undefined>(this.slots).fill(undefined);
    this.today = this.emptyDay();
  }

  /** Record a PV power sample (W) at wall time `wallMs`. */
  observe(wallMs: number, pvWatts: number): void {
    const { day, slot } = this.locate(wallMs);
    if (this.day !== undefined && day !== this.day) this.rollDay();
    this.day = day;
    const cell = this.today[slot]!;
    cell.sum += Math.max(0, pvWatts);
    cell.n += 1;
    this.peakSeen = Math.max(this.peakSeen, pvWatts);
  }

  /** Full days folded into the profile so far. */
  days(): number {
    return this.daysFolded;
  }

  /** Today's weather factor at `wallMs` (1 when it cannot be told, e.g. at night). */
  factor(wallMs: number): number {
    let seen = 0;
    let expected = 0;
    for (let t = wallMs - this.factorWindowMs; t < wallMs; t += this.slotMs) {
      const { day, slot } = this.locate(t);
      if (day !== this.day) continue;
      const cell = this.today[slot]!;
      if (cell.n === 0) continue;
      seen += cell.sum / cell.n;
      expected += this.profileAt(slot);
    }
    if (expected < 0.02 * Math.max(this.peakSeen, 1e-9) * (this.factorWindowMs / this.slotMs) || expected <= 0) return 1;
    return Math.min(1.5, Math.max(0.05, seen / expected));
  }

  /** Expected PV energy over the next `hours`, Wh, from wall time `wallMs`. */
  forecastWh(wallMs: number, hours: number): number {
    return this.series(wallMs, hours).reduce((a, b) => a + b, 0);
  }

  /** Slot width, hours. */
  slotHours(): number {
    return this.slotMs / 3_600_000;
  }

  /** Expected PV energy per slot over the next `hours`, Wh each (slot width `slotHours()`). */
  series(wallMs: number, hours: number): number[] {
    const factor = this.factor(wallMs);
    const slotH = this.slotMs / 3_600_000;
    const steps = Math.ceil((hours * 3_600_000) / this.slotMs);
    const out: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t = wallMs + i * this.slotMs;
      const ahead = (i * this.slotMs) / 3_600_000;
      const f = 1 + (factor - 1) * Math.exp(-ahead / this.fadeHours);
      out.push(this.profileAt(this.locate(t).slot) * f * slotH);
    }
    return out;
  }

  /** Profile watts for a slot (the bell fallback before the first full day). */
  profileAt(slot: number): number {
    const p = this.profile[slot];
    if (p !== undefined) return p;
    if (this.daysFolded > 0) return 0;
    const hour = ((slot + 0.5) * this.slotMs) / 3_600_000;
    return hour > 6 && hour < 18 ? this.peakSeen * Math.sin((Math.PI * (hour - 6)) / 12) : 0;
  }

  private rollDay(): void {
    let any = false;
    for (let s = 0; s < this.slots; s++) {
      const cell = this.today[s]!;
      if (cell.n === 0) continue;
      any = true;
      const mean = cell.sum / cell.n;
      const old = this.profile[s];
      this.profile[s] = old === undefined ? mean : old + this.dayWeight * (mean - old);
    }
    if (any) this.daysFolded += 1;
    this.today = this.emptyDay();
  }

  private locate(wallMs: number): { day: number; slot: number } {
    const local = wallMs + this.offsetMs;
    const day = Math.floor(local / 86_400_000);
    const slot = Math.floor((local - day * 86_400_000) / this.slotMs);
    return { day, slot };
  }

  private emptyDay(): Array<{ sum: number; n: number }> {
    return Array.from({ length: this.slots }, () => ({ sum: 0, n: 0 }));
  }
}

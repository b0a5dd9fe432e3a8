import type { SleepConfig } from '../config/sections/energy.js';

/** What the planner needs to know, all in SI units. */
export interface SleepPlanInput {
  /** Wall time, ms. */
  now: number;
  soc: number;
  capacityWh: number;
  /** PV forecast, Wh per slot from `now` (PvForecaster.series). */
  slotsWh: readonly number[];
  slotHours: number;
  /** Host draw while awake (idle plus background), W. */
  awakeWatts: number;
  /** Host off, MCU on, W (board profile `power.sleepWatts`). */
  sleepWatts: number;
  /** Energy of one boot, Wh. */
  bootWh: number;
  /** Battery charge efficiency (Wh stored per Wh in). */
  chargeEfficiency: number;
  /** Wall time the host last woke (or started), ms. */
  awakeSince: number;
}

/** The planner's decision. */
export type SleepPlan =
  | { sleep: false; reason: string; hoursToFloor: number }
  | {
      sleep: true;
      reason: string;
      /** Wake at this wall time at the latest (the MCU's max-off cap), ms. */
      wakeAt: number;
      /** …or as soon as the MCU sees SOC at this level (POWER_OFF until SOC). */
      wakeSoc: number;
      hoursToFloor: number;
    };

/**
 * Plan the host's sleep (DESIGN section 11): follow the battery forward over the PV forecast with the host
 * awake; if it would reach the floor before the next slot, sleep, so the battery never gets near the
 * low-voltage cut-off (a brownout) and the night or clouded day is spent at the MCU's draw instead of the
 * host's. The wake is the first forecast slot whose PV covers the awake draw with a margin (sunrise on a
 * clear day), capped at the horizon, or earlier once the MCU sees SOC `floor + wakeMargin` (a brighter
 * day than forecast). Pure: the caller turns the plan into a POWER_OFF.
 */
export function planSleep(i: SleepPlanInput, c: Pick<SleepConfig, 'floorSoc' | 'wakeMarginSoc' | 'horizonHours' | 'minAwakeMinutes'>): SleepPlan {
  const slotMs = i.slotHours * 3_600_000;
  const floorWh = c.floorSoc * i.capacityWh;
  const slots = i.slotsWh.slice(0, Math.max(1, Math.round(c.horizonHours / i.slotHours)));
  // awake path: the battery slot by slot with the host on
  let e = i.soc * i.capacityWh;
  let hoursToFloor = Infinity;
  for (let k = 0; k < slots.length; k++) {
    const net = slots[k]! - i.awakeWatts * i.slotHours;
    e = Math.min(i.capacityWh, e + (net > 0 ? net * i.chargeEfficiency : net));
    if (e <= floorWh) {
      hoursToFloor = k * i.slotHours;
      break;
    }
  }
  const awake = (reason: string): SleepPlan => ({ sleep: false, reason, hoursToFloor });
  if (hoursToFloor > i.slotHours) return awake(hoursToFloor === Infinity ? `forecast keeps SOC above ${pct(c.floorSoc)} for ${c.horizonHours} h` : `SOC reaches the floor in ${hoursToFloor.toFixed(1)} h`);
  if (i.soc > c.floorSoc && i.now - i.awakeSince < c.minAwakeMinutes * 60_000) return awake(`awake for less than ${c.minAwakeMinutes} min`);
  // Sleeping costs a boot; it pays off only if the off time saves more than that.
  const coverW = Math.max(i.awakeWatts * 1.2, i.awakeWatts + 0.5);
  let wakeSlot = slots.length;
  for (let k = 1; k < slots.length; k++) {
    if (slots[k]! / i.slotHours >= coverW) {
      wakeSlot = k;
      break;
    }
  }
  const savedWh = wakeSlot * i.slotHours * (i.awakeWatts - i.sleepWatts);
  if (savedWh <= i.bootWh) return awake(`a ${(wakeSlot * i.slotHours).toFixed(2)} h sleep saves less than a boot costs`);
  const wakeAt = i.now + wakeSlot * slotMs;
  return {
    sleep: true,
    reason: wakeSlot < slots.length ? `SOC ${pct(i.soc)} would fall below ${pct(c.floorSoc)}; PV covers the host again in ${(wakeSlot * i.slotHours).toFixed(1)} h` : `SOC ${pct(i.soc)} would fall below ${pct(c.floorSoc)}; no PV to cover the host within ${c.horizonHours} h`,
    wakeAt,
    wakeSoc: Math.min(0.95, c.floorSoc + c.wakeMarginSoc),
    hoursToFloor,
  };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

import t from 'tap';
import { planSleep, type SleepPlanInput } from '../../src/energy/sleep-planner.js';

const cfg = { floorSoc: 0.12, wakeMarginSoc: 0.15, horizonHours: 36, minAwakeMinutes: 20 };
const H = 0.25; // 15-min slots
const NOW = Date.UTC(2026, 4, 1, 22);

/** Slots for `hours` of night (0 W) then `dayHours` of `dayW` W. */
function slots(nightHours: number, dayW: number, dayHours = 10): number[] {
  return [...new Array<number>(Math.round(nightHours / H)).fill(0), ...new Array<number>(Math.round(dayHours / H)).fill(dayW * H), ...new Array<number>(200).fill(0)];
}

const base = (over: Partial<SleepPlanInput>): SleepPlanInput => ({
  now: NOW, soc: 0.5, capacityWh: 100, slotsWh: slots(8, 20), slotHours: H, awakeWatts: 2.7, sleepWatts: 0.08, bootWh: 0.05, chargeEfficiency: 0.95, awakeSince: NOW - 3_600_000, ...over,
});

t.test('stays awake while the forecast keeps SOC above the floor', async (t) => {
  const p = planSleep(base({ soc: 0.5 }), cfg);
  t.equal(p.sleep, false);
  t.ok(p.hoursToFloor > 8, 'the night does not reach the floor from 50 %');
});

t.test('sleeps when the floor is one slot away, and wakes when PV covers the host', async (t) => {
  const p = planSleep(base({ soc: 0.125 }), cfg);
  t.equal(p.sleep, true);
  if (!p.sleep) return;
  t.equal(p.wakeAt, NOW + 8 * 3_600_000, 'wake at the first slot whose PV covers 1.2 × the awake draw');
  t.equal(p.wakeSoc, 0.27);
  t.match(p.reason, /PV covers the host again in 8\.0 h/);
});

t.test('clouded: no slot covers the host, so the wake is the horizon (or the SOC threshold)', async (t) => {
  const p = planSleep(base({ soc: 0.12, slotsWh: slots(8, 2) }), cfg);
  t.equal(p.sleep, true);
  if (!p.sleep) return;
  t.equal(p.wakeAt, NOW + 36 * 3_600_000);
  t.match(p.reason, /no PV to cover the host within 36 h/);
});

t.test('does not sleep right after a wake, nor for less than a boot costs', async (t) => {
  t.equal(planSleep(base({ soc: 0.125, awakeSince: NOW - 60_000 }), cfg).sleep, false, 'just woke');
  t.equal(planSleep(base({ soc: 0.11, awakeSince: NOW - 60_000 }), cfg).sleep, true, 'below the floor the dwell does not hold it');
  const dawn = planSleep(base({ soc: 0.125, slotsWh: slots(0.5, 20), bootWh: 5 }), cfg);
  t.equal(dawn.sleep, false, 'a 30-min sleep that saves less than the boot costs');
  t.match(dawn.reason, /saves less than a boot costs/);
});

/**
 * The wake/sleep plan for the status page (docs/status.md "Wake/sleep plan"): what the energy feature's
 * sleep control (src/energy/sleep-control.ts, companion MCU only) has decided and would decide now,
 * and the last wake reason the MCU reported. Without an MCU the summary says so in its note.
 */
import type { SleepControlState } from '../energy/sleep-control.js';
import type { SleepPlan } from '../energy/sleep-planner.js';
import type { PowerPlanSummary, PowerSummary } from './summary.js';

const MIN = 60_000;
const minute = (t: number): number => Math.round(t / MIN) * MIN;

/** One decision, times rounded to the minute (the event stream pushes only on change). */
export function planSummary(at: number, plan: SleepPlan): PowerPlanSummary {
  return {
    at: minute(at),
    sleep: plan.sleep,
    reason: plan.reason,
    wakeAt: plan.sleep ? minute(plan.wakeAt) : null,
    wakeSoc: plan.sleep ? plan.wakeSoc : null,
    floorAt: !plan.sleep && Number.isFinite(plan.hoursToFloor) ? minute(at + plan.hoursToFloor * 3_600_000) : null,
  };
}

/** The power summary from the sleep control's state, or the sentence saying why there is none. */
export function powerSummary(state: SleepControlState | undefined, sourceUri: string | undefined, now: number): PowerSummary {
  if (!state) {
    const note = sourceUri
      ? `no companion MCU: the energy source ${sourceUri} only reports readings; nothing puts the host to sleep or wakes it`
      : 'no companion MCU (no energy source): nothing puts the host to sleep or wakes it';
    return { managed: false, note, enabled: false, linked: false, lastWake: null, plan: null, lastDecision: null, nextPlanAt: null, armed: null };
  }
  const note = !state.enabled
    ? 'companion MCU present; planned sleep is off (energy.sleep.enabled: false)'
    : state.armed
      ? `sleep armed on the companion MCU: ${state.armed}`
      : state.linked
        ? 'the companion MCU manages host power'
        : 'the companion MCU manages host power; its link is down (no plan can be armed until it is back)';
  return {
    managed: true,
    note,
    enabled: state.enabled,
    linked: state.linked,
    lastWake: state.lastWake,
    plan: state.preview ? planSummary(now, state.preview) : null,
    lastDecision: state.lastDecision ? planSummary(state.lastDecision.at, state.lastDecision.plan) : null,
    nextPlanAt: state.nextPlanAt === null ? null : minute(state.nextPlanAt),
    armed: state.armed,
  };
}

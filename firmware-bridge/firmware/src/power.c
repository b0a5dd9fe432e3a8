#include "power.h"
#include "proto.h"

#define LOW_BATTERY_GRACE_S 30
#define LOW_BATTERY_HALT_S 10

void power_init(power_t *p, uint64_t now_ms) {
  *p = (power_t){0};
  p->state = PWR_ON;
  p->wake_reason = WAKE_COLD;
  p->power_ons = 1;
  p->wd_last_ms = now_ms;
  p->cutoff_pm = 50;
  p->restart_pm = 150;
}

static void begin(power_t *p, uint64_t now_ms, uint8_t mode, uint32_t value, uint16_t grace_s, uint16_t halt_s, uint32_t max_off_s) {
  p->state = PWR_PENDING;
  p->mode = mode;
  p->value = value;
  p->halt_s = halt_s;
  p->max_off_s = max_off_s;
  p->deadline_ms = now_ms + (uint64_t)grace_s * 1000u;
}

int power_request(power_t *p, const power_inputs_t *in, uint8_t mode, uint32_t value, uint16_t grace_s, uint16_t halt_s, uint32_t max_off_s) {
  if (p->state != PWR_ON) return NACK_BUSY;
  if (grace_s < 1 || grace_s > 600 || halt_s > 600 || max_off_s > POWER_MAX_OFF_S) return NACK_OUT_OF_RANGE;
  switch (mode) {
    case OFF_DURATION:
      if (value < 1 || value > POWER_MAX_OFF_S) return NACK_OUT_OF_RANGE;
      break;
    case OFF_UNTIL_WALL:
      if (in->wall_s == 0 || value <= in->wall_s || value - in->wall_s > POWER_MAX_OFF_S) return NACK_OUT_OF_RANGE;
      break;
    case OFF_UNTIL_SOC:
      if (in->soc_pm < 0 || value < 1 || value > 1000) return NACK_OUT_OF_RANGE;
      break;
    case OFF_UNTIL_VOLTAGE:
      if (value < 1000 || value > 60000) return NACK_OUT_OF_RANGE;
      break;
    default:
      return NACK_OUT_OF_RANGE;
  }
  begin(p, in->now_ms, mode, value, grace_s, halt_s, max_off_s);
  return 0;
}

int power_ack(power_t *p, uint64_t now_ms) {
  if (p->state == PWR_HALTING) return 0; /* a retried ack (same request re-sent) is idempotent */
  if (p->state != PWR_PENDING) return NACK_BUSY;
  p->state = PWR_HALTING;
  p->deadline_ms = now_ms + (uint64_t)p->halt_s * 1000u;
  return 0;
}

int power_cancel(power_t *p) {
  if (p->state != PWR_PENDING) return NACK_BUSY;
  p->state = PWR_ON;
  return 0;
}

void power_heartbeat(power_t *p, uint64_t now_ms) { p->wd_last_ms = now_ms; }

static int wake_due(const power_t *p, const power_inputs_t *in, uint8_t *reason) {
  uint64_t off_ms = in->now_ms - p->off_since_ms;
  switch (p->mode) {
    case OFF_DURATION:
    case OFF_WATCHDOG:
      if (off_ms >= (uint64_t)p->value * 1000u) { *reason = p->mode == OFF_WATCHDOG ? WAKE_WATCHDOG : WAKE_TIMER; return 1; }
      break;
    case OFF_UNTIL_WALL:
      if (in->wall_s >= p->value) { *reason = WAKE_WALL; return 1; }
      break;
    case OFF_UNTIL_SOC:
      if (in->soc_pm >= (int)p->value) { *reason = WAKE_SOC; return 1; }
      break;
    case OFF_UNTIL_VOLTAGE:
      if (in->batt_mv >= p->value) { *reason = WAKE_VOLTAGE; return 1; }
      break;
    case OFF_LOW_BATTERY:
      if (in->soc_pm >= (int)p->restart_pm) { *reason = WAKE_LOW_BATTERY; return 1; }
      return 0; /* no cap: waking into a flat battery is the brownout this prevents */
    default:
      break;
  }
  if (p->max_off_s && off_ms >= (uint64_t)p->max_off_s * 1000u) { *reason = WAKE_MAX_OFF; return 1; }
  return 0;
}

int power_tick(power_t *p, const power_inputs_t *in) {
  switch (p->state) {
    case PWR_ON:
      if (p->wd_timeout_s && in->now_ms - p->wd_last_ms >= (uint64_t)p->wd_timeout_s * 1000u) {
        p->state = PWR_OFF; /* a hung host gets no handshake: cut and power-cycle */
        p->mode = OFF_WATCHDOG;
        p->value = p->wd_off_s ? p->wd_off_s : 5;
        p->max_off_s = 0;
        p->off_since_ms = in->now_ms;
        return 0;
      }
      if (in->soc_pm >= 0 && in->soc_pm <= (int)p->cutoff_pm) {
        begin(p, in->now_ms, OFF_LOW_BATTERY, p->restart_pm, LOW_BATTERY_GRACE_S, LOW_BATTERY_HALT_S, 0);
        p->notice = 1;
      }
      return 1;
    case PWR_PENDING:
      if (in->now_ms >= p->deadline_ms) {
        p->ack_timeouts++;
        p->state = PWR_OFF; /* no acknowledgement within the grace time: cut anyway */
        p->off_since_ms = in->now_ms;
        return 0;
      }
      return 1;
    case PWR_HALTING:
      if (in->now_ms >= p->deadline_ms) {
        p->state = PWR_OFF;
        p->off_since_ms = in->now_ms;
        return 0;
      }
      return 1;
    default: {
      uint8_t reason;
      if (!wake_due(p, in, &reason)) return 0;
      p->state = PWR_ON;
      p->wake_reason = reason;
      p->slept_s = (uint32_t)((in->now_ms - p->off_since_ms) / 1000u);
      p->power_ons++;
      p->wd_last_ms = in->now_ms; /* the watchdog restarts at boot */
      return 1;
    }
  }
}

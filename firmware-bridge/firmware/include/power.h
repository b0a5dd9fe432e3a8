/* Host power state machine: planned power-off with a graceful shutdown handshake, wake conditions,
 * host watchdog and the MCU's own low-battery protection. Pure logic (time passed in), unit-tested. */
#ifndef H3LIX_POWER_H
#define H3LIX_POWER_H
#include <stdint.h>

enum power_state { PWR_ON = 0, PWR_PENDING = 1, PWR_HALTING = 2, PWR_OFF = 3 };
enum power_mode { OFF_DURATION = 1, OFF_UNTIL_WALL = 2, OFF_UNTIL_SOC = 3, OFF_UNTIL_VOLTAGE = 4,
                  OFF_WATCHDOG = 0x80, OFF_LOW_BATTERY = 0x81 };
enum wake_reason { WAKE_COLD = 0, WAKE_TIMER = 1, WAKE_WALL = 2, WAKE_SOC = 3, WAKE_VOLTAGE = 4,
                   WAKE_WATCHDOG = 5, WAKE_MAX_OFF = 6, WAKE_LOW_BATTERY = 7 };

#define POWER_MAX_OFF_S (31u * 86400u)

typedef struct {
  uint8_t state, mode, wake_reason;
  uint32_t value, max_off_s, slept_s;
  uint16_t halt_s, power_ons, ack_timeouts;
  uint64_t deadline_ms, off_since_ms;
  /* watchdog: power-cycle a host that sends no request for wd_timeout_s (0 = off) */
  uint16_t wd_timeout_s, wd_off_s;
  uint64_t wd_last_ms;
  /* low-battery protection: below cutoff the MCU asks the host down and wakes it at restart */
  uint16_t cutoff_pm, restart_pm;
  uint8_t notice; /* set when a SHUTDOWN_NOTICE must be sent */
} power_t;

typedef struct {
  uint64_t now_ms;  /* monotonic */
  uint32_t wall_s;  /* 0 = wall clock not set */
  int soc_pm;       /* -1 unknown */
  uint32_t batt_mv;
} power_inputs_t;

void power_init(power_t *p, uint64_t now_ms);
/* Returns 0 or a NACK reason. */
int power_request(power_t *p, const power_inputs_t *in, uint8_t mode, uint32_t value, uint16_t grace_s, uint16_t halt_s, uint32_t max_off_s);
int power_ack(power_t *p, uint64_t now_ms);
int power_cancel(power_t *p);
void power_heartbeat(power_t *p, uint64_t now_ms);
/* Advance; returns 1 when the host should be powered. */
int power_tick(power_t *p, const power_inputs_t *in);

#endif

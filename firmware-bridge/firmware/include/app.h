/* The firmware core: frame reception, message dispatch, measurement, power control. */
#ifndef H3LIX_APP_H
#define H3LIX_APP_H
#include <stddef.h>
#include <stdint.h>
#include "fwupdate.h"
#include "power.h"
#include "proto.h"
#include "settings.h"

/* The version in INFO and FW_STATE; builds of other versions (update tests) pass -DFW_MINOR=... */
#ifndef FW_MAJOR
#define FW_MAJOR 1
#endif
#ifndef FW_MINOR
#define FW_MINOR 1
#endif
#ifndef FW_PATCH
#define FW_PATCH 0
#endif

typedef struct {
  uint32_t batt_mv, pv_mv, pv_mw, load_mw;
  int32_t batt_ma;
  int soc_pm; /* -1 until anchored */
  uint8_t pv_ok, load_ok;
} measure_t;

typedef struct {
  settings_t set;
  power_t pwr;
  measure_t m;
  uint64_t mono_ms;       /* scaled monotonic time */
  uint32_t last_real_ms;
  uint32_t speed;         /* emulated targets: simulated ms per real ms (1 on hardware) */
  int wall_valid;
  int64_t wall_offset_ms; /* wall = mono + offset */
  int64_t charge_uah;     /* coulomb counter */
  uint64_t next_sample_ms, last_measure_ms;
  uint8_t rx[PROTO_MAX_ENCODED];
  size_t rx_len;
  int rx_over;
  uint16_t rejects, dropped_off;
  uint8_t loads, host_on;
  fwu_t fwu;
} app_t;

void app_init(app_t *a);
/* One pass of the main loop: take UART bytes, advance time, measure, run the power machine. */
void app_poll(app_t *a);
/* Feed one received byte (exposed for unit tests). */
void app_rx_byte(app_t *a, uint8_t b);
uint64_t app_wall_ms(const app_t *a);

#endif

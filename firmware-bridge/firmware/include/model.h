/* Battery/PV model behind the emulated INA219s (host and QEMU targets only). */
#ifndef H3LIX_MODEL_H
#define H3LIX_MODEL_H
#include <stdint.h>

typedef struct {
  double soc;          /* 0..1 */
  double capacity_wh;  /* 100 */
  double panel_w;      /* 30 */
  double pv_scale;     /* cloud factor 0..1 */
  double host_w;       /* host draw while powered (rpi-4 idle 2.7 W) */
  double mcu_w;        /* always-on MCU + sensors, 0.05 W */
  int host_on;
  /* outputs of the last step */
  double batt_v, batt_a, pv_v, pv_a, load_a;
} model_t;

extern model_t emu_model;
void model_init(model_t *m);
/* Advance dt_ms of simulated time ending at wall time wall_ms (ms since epoch; time of day sets PV). */
void model_step(model_t *m, uint64_t dt_ms, uint64_t wall_ms);
/* INA219 register read/write as the emulated chips at INA_BATTERY/INA_PV/INA_LOAD answer them. */
int emu_ina219_read16(uint8_t addr, uint8_t reg, uint16_t *value);
int emu_ina219_write16(uint8_t addr, uint8_t reg, uint16_t value);

#endif

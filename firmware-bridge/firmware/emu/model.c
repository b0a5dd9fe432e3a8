#include <math.h>
#include <stdlib.h>
#include "model.h"
#include "ina219.h"

model_t emu_model;

/* LiFePO4 4S rested OCV, the same table as src/energy/ocv.ts. */
static const double OCV[11] = {10.0, 12.0, 12.6, 12.8, 12.9, 13.0, 13.1, 13.2, 13.3, 13.4, 13.6};

static double ocv(double soc) {
  if (soc <= 0) return OCV[0];
  if (soc >= 1) return OCV[10];
  int i = (int)(soc * 10);
  double f = soc * 10 - i;
  return OCV[i] + f * (OCV[i + 1] - OCV[i]);
}

void model_init(model_t *m) {
  *m = (model_t){.soc = 0.7, .capacity_wh = 100, .panel_w = 30, .pv_scale = 1, .host_w = 2.7, .mcu_w = 0.05, .host_on = 1};
  m->batt_v = ocv(m->soc);
}

/* Clear-sky PV like the TypeScript emulator: peak x sin(pi (h - 6) / 14)^1.3 from 06:00 to 20:00, 0.8 derate. */
static double pv_watts(const model_t *m, uint64_t wall_ms) {
  double h = (double)(wall_ms % 86400000u) / 3600000.0;
  if (h <= 6 || h >= 20) return 0;
  return m->panel_w * 0.8 * m->pv_scale * pow(sin(3.14159265358979323846 * (h - 6) / 14), 1.3);
}

void model_step(model_t *m, uint64_t dt_ms, uint64_t wall_ms) {
  double hours = (double)dt_ms / 3600000.0;
  double pv = pv_watts(m, wall_ms);
  double load = m->mcu_w + (m->host_on ? m->host_w : 0);
  if (m->soc >= 1 && pv > load) pv = load; /* MPPT curtails when full */
  double net = pv - load;
  double stored = net >= 0 ? net * 0.95 * hours : net / 0.97 * hours;
  m->soc += stored / m->capacity_wh;
  if (m->soc > 1) m->soc = 1;
  if (m->soc < 0) m->soc = 0;
  double v = ocv(m->soc);
  m->batt_a = net / v;
  m->batt_v = v + m->batt_a * 0.02;
  m->pv_v = pv > 0 ? 18.0 : 0;
  m->pv_a = pv > 0 ? pv / 18.0 : 0;
  m->load_a = load / m->batt_v;
}

static uint16_t cfg[3], cal[3];

static int idx(uint8_t addr) { return addr == INA_BATTERY ? 0 : addr == INA_PV ? 1 : addr == INA_LOAD ? 2 : -1; }

int emu_ina219_write16(uint8_t addr, uint8_t reg, uint16_t value) {
  int i = idx(addr);
  if (i < 0) return -1;
  if (reg == INA219_REG_CONFIG) cfg[i] = value;
  else if (reg == INA219_REG_CAL) cal[i] = value & 0xFFFEu; /* bit 0 is read-only */
  else return -1;
  return 0;
}

static int16_t sat16(double x) { return (int16_t)(x > 32767 ? 32767 : x < -32768 ? -32768 : lround(x)); }

int emu_ina219_read16(uint8_t addr, uint8_t reg, uint16_t *value) {
  int i = idx(addr);
  if (i < 0) return -1;
  const model_t *m = &emu_model;
  double volts = i == 1 ? m->pv_v : m->batt_v;
  double amps = i == 0 ? m->batt_a : i == 1 ? m->pv_a : m->load_a;
  int16_t shunt = sat16(amps * 0.01 / 10e-6);                    /* LSB 10 uV over 10 mOhm */
  int16_t current = (int16_t)((int32_t)shunt * cal[i] / 4096);   /* Current = Shunt x Cal / 4096 */
  uint16_t bus = (uint16_t)(lround(volts * 1000 / 4) & 0x1FFF);    /* LSB 4 mV, 13 bits */
  switch (reg) {
    case INA219_REG_CONFIG: *value = cfg[i]; break;
    case INA219_REG_SHUNT: *value = (uint16_t)shunt; break;
    case INA219_REG_BUS: *value = (uint16_t)((bus << 3) | 0x2u); break; /* CNVR set */
    case INA219_REG_CURRENT: *value = cal[i] ? (uint16_t)current : 0; break;
    case INA219_REG_POWER: *value = cal[i] ? (uint16_t)((uint32_t)abs(current) * bus / 5000u) : 0; break;
    case INA219_REG_CAL: *value = cal[i]; break;
    default: return -1;
  }
  return 0;
}

#include "ina219.h"
#include "hal.h"

int ina219_init(uint8_t addr) {
  if (hal_i2c_write16(addr, INA219_REG_CONFIG, INA219_CONFIG) != 0) return -1;
  return hal_i2c_write16(addr, INA219_REG_CAL, INA219_CAL);
}

int ina219_read(uint8_t addr, ina219_sample_t *out) {
  uint16_t bus, cur, pwr;
  if (hal_i2c_read16(addr, INA219_REG_BUS, &bus) || hal_i2c_read16(addr, INA219_REG_CURRENT, &cur) || hal_i2c_read16(addr, INA219_REG_POWER, &pwr)) return -1;
  if (bus & 0x0001u) return -1;           /* OVF: math overflow, the current/power are invalid */
  out->bus_mv = (uint32_t)(bus >> 3) * 4u; /* bus voltage register: bits 15..3, LSB 4 mV */
  out->current_ma = (int16_t)cur;          /* current LSB 1 mA */
  out->power_mw = (uint32_t)pwr * 20u;     /* power LSB = 20 x current LSB */
  return 0;
}

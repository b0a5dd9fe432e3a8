/* INA219 shunt/bus monitor driver over the I2C HAL (TI SBOS448G). Shunt 10 mOhm, current LSB 1 mA. */
#ifndef H3LIX_INA219_H
#define H3LIX_INA219_H
#include <stdint.h>

#define INA219_REG_CONFIG 0x00
#define INA219_REG_SHUNT 0x01
#define INA219_REG_BUS 0x02
#define INA219_REG_POWER 0x03
#define INA219_REG_CURRENT 0x04
#define INA219_REG_CAL 0x05
/* 32 V bus range, PGA /8 (+-320 mV), 12-bit ADCs, shunt and bus continuous (datasheet 8.6.2.1). */
#define INA219_CONFIG 0x399Fu
/* Cal = trunc(0.04096 / (Current_LSB x R_shunt)) = 0.04096 / (0.001 A x 0.01 Ohm) (datasheet 8.5.1). */
#define INA219_CAL 4096u

#define INA_BATTERY 0x40
#define INA_PV 0x41
#define INA_LOAD 0x44

typedef struct { uint32_t bus_mv; int32_t current_ma; uint32_t power_mw; } ina219_sample_t;

int ina219_init(uint8_t addr);
int ina219_read(uint8_t addr, ina219_sample_t *out);

#endif

/* I2C HAL on the RP2040's I2C0 (DW_apb_i2c, datasheet 4.3) at 100 kHz on GP4 (SDA) / GP5 (SCL), master
 * only: the INA219/INA226 16-bit register protocol (pointer write, then a repeated start and two bytes
 * read, MSB first: TI SBOS448G 8.5.6). Every wait is bounded: a missing or stuck chip gives -1. */
#include "hal.h"
#include "regs.h"

#define I2C_TIMEOUT_MS 5u
#define CMD_READ (1u << 8)
#define CMD_STOP (1u << 9)
#define CMD_RESTART (1u << 10)
#define INTR_TX_ABRT (1u << 6)
#define INTR_STOP_DET (1u << 9)
#define STATUS_TFE (1u << 2)

void rp2040_i2c_init(void) {
  REG(GPIO_CTRL(4)) = FUNC_I2C;
  REG(GPIO_CTRL(5)) = FUNC_I2C;
  REG(PAD(4)) = (1u << 6) | (1u << 3) | (1u << 1); /* input enable, pull-up, Schmitt (boards add 4k7) */
  REG(PAD(5)) = (1u << 6) | (1u << 3) | (1u << 1);
  REG(IC_ENABLE) = 0;
  /* master, fast-mode timing registers, restart enabled, slave off, TX_EMPTY on FIFO level (4.3.14.1) */
  REG(IC_CON) = 1u | (2u << 1) | (1u << 5) | (1u << 6) | (1u << 8);
  REG(IC_TX_TL) = 0;
  REG(IC_RX_TL) = 0;
  /* 100 kHz from 12 MHz: 120 cycles a bit, 3/5 low, 2/5 high (as pico-sdk's i2c_set_baudrate) */
  REG(IC_FS_SCL_HCNT) = 48u;
  REG(IC_FS_SCL_LCNT) = 72u;
  REG(IC_FS_SPKLEN) = 72u / 16u;
  REG(IC_SDA_HOLD) = 12000000u * 3u / 10000000u + 1u; /* 300 ns */
  REG(IC_ENABLE) = 1;
}

static void target(uint8_t addr) {
  REG(IC_ENABLE) = 0;
  REG(IC_TAR) = addr;
  REG(IC_ENABLE) = 1;
}

/* After an abort (no ACK) the block sends STOP itself: wait for it, then clear both. */
static int aborted(void) {
  if (!(REG(IC_RAW_INTR_STAT) & INTR_TX_ABRT)) return 0;
  (void)REG(IC_TX_ABRT_SOURCE);
  (void)REG(IC_CLR_TX_ABRT);
  uint32_t t0 = hal_millis();
  while (!(REG(IC_RAW_INTR_STAT) & INTR_STOP_DET) && hal_millis() - t0 < I2C_TIMEOUT_MS) {}
  (void)REG(IC_CLR_STOP_DET);
  return 1;
}

int hal_i2c_read16(uint8_t addr, uint8_t reg, uint16_t *value) {
  target(addr);
  REG(IC_DATA_CMD) = reg;                      /* register pointer */
  REG(IC_DATA_CMD) = CMD_READ | CMD_RESTART;   /* repeated start, MSB */
  REG(IC_DATA_CMD) = CMD_READ | CMD_STOP;      /* LSB, then stop */
  uint32_t t0 = hal_millis();
  while (REG(IC_RXFLR) < 2u) {
    if (aborted() || hal_millis() - t0 >= I2C_TIMEOUT_MS) return -1;
  }
  uint16_t hi = (uint16_t)(REG(IC_DATA_CMD) & 0xFFu), lo = (uint16_t)(REG(IC_DATA_CMD) & 0xFFu);
  *value = (uint16_t)(hi << 8 | lo);
  (void)REG(IC_CLR_STOP_DET);
  return 0;
}

int hal_i2c_write16(uint8_t addr, uint8_t reg, uint16_t value) {
  target(addr);
  REG(IC_DATA_CMD) = reg;
  REG(IC_DATA_CMD) = (uint32_t)(value >> 8);
  REG(IC_DATA_CMD) = (uint32_t)(value & 0xFFu) | CMD_STOP;
  uint32_t t0 = hal_millis();
  while (!(REG(IC_RAW_INTR_STAT) & INTR_STOP_DET)) {
    if (aborted() || hal_millis() - t0 >= I2C_TIMEOUT_MS) return -1;
  }
  (void)REG(IC_CLR_STOP_DET);
  return aborted() ? -1 : 0;
}

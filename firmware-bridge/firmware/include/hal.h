/* The one hardware abstraction layer of the h3lix companion-MCU reference firmware.
 * The core (src/) calls only these functions; each target (targets/host, targets/mps2) implements
 * them once. No heap anywhere: every buffer is static and bounded. */
#ifndef H3LIX_HAL_H
#define H3LIX_HAL_H
#include <stddef.h>
#include <stdint.h>

/* Milliseconds since the MCU started (monotonic, wraps after 49 days: use differences). */
uint32_t hal_millis(void);
/* Take one received UART byte; returns 1 and sets *b, or 0 when none is waiting. */
int hal_uart_getc(uint8_t *b);
/* Send bytes on the UART (blocking until queued). */
void hal_uart_write(const uint8_t *p, size_t n);
/* I2C register access (INA219/INA226: 16-bit big-endian registers). Return 0 on ACK, -1 on NACK. */
int hal_i2c_read16(uint8_t addr, uint8_t reg, uint16_t *value);
int hal_i2c_write16(uint8_t addr, uint8_t reg, uint16_t value);
/* Drive the host load switch (GPIO to the switch's EN pin): 1 = host powered. */
void hal_host_power(int on);
/* Settings flash: one page of HAL_FLASH_PAGE bytes. Write erases the page first. Return 0 on success. */
#define HAL_FLASH_PAGE 256u
int hal_flash_read(uint8_t *buf, size_t n);
int hal_flash_write(const uint8_t *buf, size_t n);
/* Update flash (firmware A/B slots, boot records; include/fwimage.h): NV_SIZE bytes, byte-addressed.
 * Erase sets bytes to 0xFF. Each returns 0, or -1 when the target has no update flash or on I/O error. */
int hal_nv_read(uint32_t addr, uint8_t *buf, size_t n);
int hal_nv_write(uint32_t addr, const uint8_t *buf, size_t n);
int hal_nv_erase(uint32_t addr, size_t n);
/* Reset the MCU (the boot stage runs again). Does not return on hardware. */
void hal_reset(void);
/* Wait for the next interrupt or at most `ms` milliseconds (low-power idle). */
void hal_idle(uint32_t ms);
/* Target name reported in INFO (at most 32 bytes). */
const char *hal_board_name(void);

#endif

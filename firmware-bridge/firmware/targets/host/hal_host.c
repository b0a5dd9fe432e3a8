/* POSIX target: the UART is the master side of a pseudo-terminal, I2C goes to the emulated INA219s,
 * the settings page is a file, the host power switch is a line on stderr. */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "hal.h"
#include "model.h"

int host_uart_fd = -1;
const char *host_flash_path;

uint32_t hal_millis(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

int hal_uart_getc(uint8_t *b) {
  ssize_t r = read(host_uart_fd, b, 1);
  return r == 1;
}

void hal_uart_write(const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(host_uart_fd, p, n);
    if (w < 0) {
      if (errno == EAGAIN || errno == EINTR) { struct pollfd pf = {host_uart_fd, POLLOUT, 0}; poll(&pf, 1, 10); continue; }
      return; /* nobody listening: a UART drops bytes too */
    }
    p += w;
    n -= (size_t)w;
  }
}

int hal_i2c_read16(uint8_t addr, uint8_t reg, uint16_t *value) { return emu_ina219_read16(addr, reg, value); }
int hal_i2c_write16(uint8_t addr, uint8_t reg, uint16_t value) { return emu_ina219_write16(addr, reg, value); }

void hal_host_power(int on) {
  fprintf(stderr, "h3lix-mcu: host power %s\n", on ? "on" : "off");
  fflush(stderr);
}

int hal_flash_read(uint8_t *buf, size_t n) {
  if (!host_flash_path || n > HAL_FLASH_PAGE) return -1;
  FILE *f = fopen(host_flash_path, "rb");
  if (!f) return -1;
  size_t r = fread(buf, 1, n, f);
  fclose(f);
  return r == n ? 0 : -1;
}

int hal_flash_write(const uint8_t *buf, size_t n) {
  if (!host_flash_path || n > HAL_FLASH_PAGE) return -1;
  uint8_t page[HAL_FLASH_PAGE];
  memset(page, 0xFF, sizeof page); /* erased flash reads 0xFF */
  memcpy(page, buf, n);
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", host_flash_path);
  FILE *f = fopen(tmp, "wb");
  if (!f) return -1;
  int ok = fwrite(page, 1, sizeof page, f) == sizeof page && fflush(f) == 0 && fsync(fileno(f)) == 0;
  fclose(f);
  return ok && rename(tmp, host_flash_path) == 0 ? 0 : -1;
}

void hal_idle(uint32_t ms) {
  struct pollfd pf = {host_uart_fd, POLLIN, 0};
  poll(&pf, 1, (int)ms);
}

const char *hal_board_name(void) { return "h3lix-ref-host"; }

/* The host target has no update flash: FW_BEGIN answers NACK 9 (updates run on the QEMU target). */
int hal_nv_read(uint32_t addr, uint8_t *buf, size_t n) { (void)addr; (void)buf; (void)n; return -1; }
int hal_nv_write(uint32_t addr, const uint8_t *buf, size_t n) { (void)addr; (void)buf; (void)n; return -1; }
int hal_nv_erase(uint32_t addr, size_t n) { (void)addr; (void)n; return -1; }
void hal_reset(void) {}

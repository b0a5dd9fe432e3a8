/* mps2-an385 target: CMSDK APB UART0 (interrupt-driven receive ring), SysTick at 10 ms, FPGA IO LED0 as
 * the host power switch, I2C to the emulated INA219s (the board has no I2C shunt monitor), settings in
 * a RAM page (QEMU keeps no flash across runs). */
#include <string.h>
#include "app.h"
#include "fwimage.h"
#include "hal.h"
#include "model.h"

#define REG(a) (*(volatile uint32_t *)(a))
#define UART0 0x40004000u
#define UART_DATA REG(UART0 + 0x00)
#define UART_STATE REG(UART0 + 0x04)
#define UART_CTRL REG(UART0 + 0x08)
#define UART_INTCLR REG(UART0 + 0x0C)
#define UART_BAUDDIV REG(UART0 + 0x10)
#define FPGAIO_LED REG(0x40028000u)
#define SYST_CSR REG(0xE000E010u)
#define SYST_RVR REG(0xE000E014u)
#define SYST_CVR REG(0xE000E018u)
#define NVIC_ISER0 REG(0xE000E100u)
#define SYSCLK 25000000u

static volatile uint32_t ticks;
static volatile uint8_t ring[256];
static volatile uint8_t head, tail;
#ifndef H3LIX_SLOT_APP
static uint8_t flash_page[HAL_FLASH_PAGE];
static int flash_written;
#endif

void systick_handler(void) { ticks++; }

void uart0_rx_handler(void) {
  UART_INTCLR = 2u;
  while (UART_STATE & 2u) {
    uint8_t b = (uint8_t)UART_DATA;
    if ((uint8_t)(head + 1) != tail) ring[head++] = b; /* full ring: drop, the CRC catches it */
  }
}

uint32_t hal_millis(void) { return ticks * 10u; }

int hal_uart_getc(uint8_t *b) {
  if (head == tail) return 0;
  *b = ring[tail++];
  return 1;
}

void hal_uart_write(const uint8_t *p, size_t n) {
  while (n--) {
    while (UART_STATE & 1u) {}
    UART_DATA = *p++;
  }
}

int hal_i2c_read16(uint8_t addr, uint8_t reg, uint16_t *value) { return emu_ina219_read16(addr, reg, value); }
int hal_i2c_write16(uint8_t addr, uint8_t reg, uint16_t value) { return emu_ina219_write16(addr, reg, value); }
void hal_host_power(int on) { FPGAIO_LED = on ? 1u : 0u; }

#ifdef H3LIX_SLOT_APP
/* Slot build (runs under the boot stage): settings live in the update flash, so they persist too. */
int hal_flash_read(uint8_t *buf, size_t n) { return n > HAL_FLASH_PAGE ? -1 : hal_nv_read(NV_SETTINGS, buf, n); }
int hal_flash_write(const uint8_t *buf, size_t n) {
  uint8_t page[HAL_FLASH_PAGE];
  if (n > HAL_FLASH_PAGE) return -1;
  memset(page, 0xFF, sizeof page);
  memcpy(page, buf, n);
  return hal_nv_write(NV_SETTINGS, page, sizeof page);
}
#else
/* Standalone build (-kernel without a boot stage): no update flash, settings in RAM. */
int hal_nv_read(uint32_t addr, uint8_t *buf, size_t n) { (void)addr; (void)buf; (void)n; return -1; }
int hal_nv_write(uint32_t addr, const uint8_t *buf, size_t n) { (void)addr; (void)buf; (void)n; return -1; }
int hal_nv_erase(uint32_t addr, size_t n) { (void)addr; (void)n; return -1; }
void hal_reset(void) {
  *(volatile uint32_t *)0xE000ED0Cu = 0x05FA0004u;
  for (;;) {}
}

int hal_flash_read(uint8_t *buf, size_t n) {
  if (!flash_written || n > HAL_FLASH_PAGE) return -1;
  memcpy(buf, flash_page, n);
  return 0;
}

int hal_flash_write(const uint8_t *buf, size_t n) {
  if (n > HAL_FLASH_PAGE) return -1;
  memset(flash_page, 0xFF, sizeof flash_page);
  memcpy(flash_page, buf, n);
  flash_written = 1;
  return 0;
}
#endif

void hal_idle(uint32_t ms) {
  (void)ms;
  __asm volatile("cpsid i");
  if (head == tail) __asm volatile("wfi"); /* a pending IRQ still ends WFI while masked */
  __asm volatile("cpsie i");
}

const char *hal_board_name(void) { return "h3lix-ref-mps2"; }

static app_t app;

int main(void) {
#ifdef H3LIX_TEST_BRICK
  for (;;) __asm volatile("wfi"); /* test image: boots, never answers (fails every health check) */
#endif
  UART_BAUDDIV = SYSCLK / 115200u;
  UART_CTRL = 1u | 2u | 8u; /* TX, RX, RX interrupt */
  NVIC_ISER0 = 1u;          /* IRQ 0: UART0 RX */
  SYST_RVR = SYSCLK / 100u - 1u;
  SYST_CVR = 0;
  SYST_CSR = 7u; /* enable, interrupt, processor clock */
  app_init(&app);
  for (;;) {
    app_poll(&app);
    hal_idle(10);
  }
}

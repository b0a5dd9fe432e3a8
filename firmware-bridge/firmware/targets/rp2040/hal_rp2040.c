/* RP2040 bare-metal target: clocks from the 12 MHz crystal (clk_ref = clk_sys = clk_peri = 12 MHz, no
 * PLL: a companion MCU idles most of the time), UART0 on GP0 (TX) / GP1 (RX) at 115200 8N1 with an RX
 * interrupt into a 256-byte ring, the 64-bit microsecond timer for hal_millis and an alarm to end the
 * idle WFI, GP2 driving the host load switch's EN. I2C is hal_rp2040_i2c.c, flash hal_rp2040_flash.c. */
#include "app.h"
#include "hal.h"
#include "regs.h"

#define XOSC_HZ 12000000u
#define HOST_EN_GPIO 2u

static volatile uint8_t ring[256];
static volatile uint8_t head, tail;

void uart0_handler(void) {
  while (!(REG(UART_FR) & UART_FR_RXFE)) {
    uint8_t b = (uint8_t)REG(UART_DR);
    if ((uint8_t)(head + 1) != tail) ring[head++] = b; /* full ring: drop, the CRC catches it */
  }
  REG(UART_ICR) = (1u << 4) | (1u << 6); /* RX, RX timeout */
}

void timer0_handler(void) { REG(TIMER_INTR) = 1u; }

static uint64_t micros(void) {
  uint32_t hi, lo;
  do { /* TIMERAWH/L are not latched: re-read when the high word moved */
    hi = REG(TIMER_RAWH);
    lo = REG(TIMER_RAWL);
  } while (hi != REG(TIMER_RAWH));
  return ((uint64_t)hi << 32) | lo;
}

uint32_t hal_millis(void) { return (uint32_t)(micros() / 1000u); }

int hal_uart_getc(uint8_t *b) {
  if (head == tail) return 0;
  *b = ring[tail++];
  return 1;
}

void hal_uart_write(const uint8_t *p, size_t n) {
  while (n--) {
    while (REG(UART_FR) & UART_FR_TXFF) {}
    REG(UART_DR) = *p++;
  }
}

void hal_host_power(int on) { REG(on ? SIO_GPIO_OUT_SET : SIO_GPIO_OUT_CLR) = 1u << HOST_EN_GPIO; }

void hal_reset(void) {
  __asm volatile("dsb");
  REG(SCB_AIRCR) = 0x05FA0004u; /* VECTKEY | SYSRESETREQ */
  for (;;) {}
}

void hal_idle(uint32_t ms) {
  REG(TIMER_ALARM0) = REG(TIMER_RAWL) + ms * 1000u; /* arms alarm 0 */
  __asm volatile("cpsid i");
  if (head == tail) __asm volatile("wfi"); /* a pending IRQ still ends WFI while masked */
  __asm volatile("cpsie i");
}

const char *hal_board_name(void) { return "h3lix-ref-rp2040"; }

static void clocks_init(void) {
  REG(XOSC_CTRL) = 0xAA0u;                              /* FREQ_RANGE 1-15 MHz */
  REG(XOSC_STARTUP) = (XOSC_HZ / 1000u + 128u) / 256u;  /* ~1 ms in units of 256 cycles (2.16.3) */
  SET(XOSC_CTRL) = 0xFABu << 12;                        /* ENABLE */
  while (!(REG(XOSC_STATUS) & 0x80000000u)) {}          /* STABLE */
  REG(CLK_REF_CTRL) = 2u;                               /* SRC xosc_clksrc */
  while (!(REG(CLK_REF_SELECTED) & (1u << 2))) {}
  REG(CLK_SYS_CTRL) = 0u;                               /* SRC clk_ref */
  while (!(REG(CLK_SYS_SELECTED) & 1u)) {}
  REG(CLK_PERI_CTRL) = 1u << 11;                        /* ENABLE, AUXSRC clk_sys */
  REG(WATCHDOG_TICK) = (1u << 9) | (XOSC_HZ / 1000000u); /* 1 us tick for the timer */
}

static void unreset(uint32_t bits) {
  CLR(RESETS_RESET) = bits;
  while ((REG(RESETS_DONE) & bits) != bits) {}
}

void rp2040_i2c_init(void);

static app_t app;

int main(void) {
  clocks_init();
  unreset(RST_IO_BANK0 | RST_PADS_BANK0 | RST_UART0 | RST_I2C0 | RST_TIMER);
  REG(GPIO_CTRL(0)) = FUNC_UART;
  REG(GPIO_CTRL(1)) = FUNC_UART;
  REG(GPIO_CTRL(HOST_EN_GPIO)) = FUNC_SIO;
  REG(SIO_GPIO_OE_SET) = 1u << HOST_EN_GPIO;
  /* 115200 baud: divisor 12e6 / (16 x 115200) = 6.5104 -> IBRD 6, FBRD round(0.5104 x 64) = 33 (4.2.7.1) */
  REG(UART_IBRD) = 6u;
  REG(UART_FBRD) = 33u;
  REG(UART_LCR_H) = (3u << 5) | (1u << 4); /* 8 bits, FIFOs on (the LCR_H write latches the divisors) */
  REG(UART_CR) = (1u << 0) | (1u << 8) | (1u << 9); /* UARTEN, TXE, RXE */
  REG(UART_IMSC) = (1u << 4) | (1u << 6);  /* RX, RX timeout */
  rp2040_i2c_init();
  REG(TIMER_INTE) = 1u;
  REG(NVIC_ISER) = (1u << IRQ_TIMER0) | (1u << IRQ_UART0);
  app_init(&app);
  for (;;) {
    app_poll(&app);
    hal_idle(10);
  }
}

/* Cortex-M3 start-up for mps2-an385: vector table, .data/.bss init, then main(). */
#include <stdint.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);
void systick_handler(void);
void uart0_rx_handler(void);

void reset_handler(void) {
  uint32_t *s = &_sidata, *d = &_sdata;
  while (d < &_edata) *d++ = *s++;
  for (d = &_sbss; d < &_ebss;) *d++ = 0;
  main();
  for (;;) {}
}

static void default_handler(void) { for (;;) {} }

__attribute__((section(".vectors"), used)) static void (*const vectors[16 + 32])(void) = {
  (void (*)(void))(&_estack), reset_handler, default_handler, default_handler, default_handler, default_handler,
  default_handler, 0, 0, 0, 0, default_handler, default_handler, 0, default_handler, systick_handler,
  uart0_rx_handler, /* IRQ 0: UART0 RX (AN385 interrupt map) */
};

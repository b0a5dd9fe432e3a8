/* RP2040 (Cortex-M0+) start-up: vector table at 0x10000100 (boot2 sets VTOR and the stack from it),
 * .data and the RAM functions copied from flash, .bss zeroed, then main(). */
#include <stdint.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);
void timer0_handler(void);
void uart0_handler(void);

void reset_handler(void) {
  uint32_t *s = &_sidata, *d = &_sdata;
  while (d < &_edata) *d++ = *s++;
  for (d = &_sbss; d < &_ebss;) *d++ = 0;
  main();
  for (;;) {}
}

static void default_handler(void) { for (;;) {} }

/* 16 system exceptions + 26 IRQs (datasheet 2.3.2: TIMER_IRQ_0 = 0, UART0_IRQ = 20). */
__attribute__((section(".vectors"), used)) static void (*const vectors[16 + 26])(void) = {
  (void (*)(void))(&_estack), reset_handler, default_handler, default_handler, 0, 0, 0, 0, 0, 0, 0,
  default_handler, 0, 0, default_handler, default_handler,
  [16 + 0] = timer0_handler,
  [16 + 20] = uart0_handler,
};

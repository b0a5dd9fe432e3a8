/* Start-up of the mps2-an385 boot stage: vector table, .data/.bss, main(). */
#include <stdint.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);

void boot_reset_handler(void) {
  uint32_t *s = &_sidata, *d = &_sdata;
  while (d < &_edata) *d++ = *s++;
  for (d = &_sbss; d < &_ebss;) *d++ = 0;
  main();
  for (;;) {}
}

static void boot_fault(void) { for (;;) {} }

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
  (void (*)(void))(&_estack), boot_reset_handler, boot_fault, boot_fault, boot_fault, boot_fault, boot_fault,
};

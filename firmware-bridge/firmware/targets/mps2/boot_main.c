/* The boot stage for mps2-an385 (linked at 0, what QEMU's -kernel runs at reset): choose a slot with
 * boot_select (test/confirm/revert), check its image, copy its payload to the load address (RAM-load,
 * as MCUboot's ram-load mode does) and jump to its vector table. */
#include <stdio.h>
#include <string.h>
#include "fwimage.h"
#include "hal.h"

void sh_log(const char *s);
const char *hal_board_name(void) { return "h3lix-ref-mps2"; }
uint32_t hal_millis(void) { return 0; }

static void jump(uint32_t base) {
  const uint32_t *vt = (const uint32_t *)base;
  *(volatile uint32_t *)0xE000ED08u = base; /* VTOR */
  __asm volatile("msr msp, %0\n\tbx %1" : : "r"(vt[0]), "r"(vt[1] | 1u));
}

int main(void) {
  img_info_t img;
  int trial;
  char line[80];
  uint8_t slot = boot_select(&img, &trial);
  if (slot == SLOT_NONE) {
    sh_log("h3lix-mcu: boot: no slot holds a valid image\n");
    for (;;) __asm volatile("wfi");
  }
  snprintf(line, sizeof line, "h3lix-mcu: boot slot %u%s version %u.%u.%u\n", slot, trial ? " (trial)" : "", img.version[0], img.version[1], img.version[2]);
  sh_log(line);
  if (hal_nv_read(nv_slot_addr(slot) + IMG_HEADER, (uint8_t *)img.load, img.size)) {
    sh_log("h3lix-mcu: boot: flash read failed\n");
    for (;;) __asm volatile("wfi");
  }
  jump(img.load);
  return 0;
}

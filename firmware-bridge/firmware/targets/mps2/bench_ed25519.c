/* Measure the Ed25519 verifier on mps2-an385 (Cortex-M3) under QEMU: SysTick on the 25 MHz CPU clock
 * around ed25519_verify of a 128-byte image header, and the stack it used (the stack below this frame is
 * painted first, the deepest overwritten word found after). Run by bench/ (mcu-firmware suite) as
 *   qemu-system-arm -M mps2-an385 -nographic -semihosting [-icount shift=0] -kernel ed25519-bench-mps2.elf
 * With -icount shift=0 every instruction takes 1 ns of virtual time: ticks x 40 = instructions executed. */
#include <stdio.h>
#include <string.h>
#include "ed25519.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define PAINT 8192u

static int sh_call(int op, void *arg) {
  register int r0 __asm("r0") = op;
  register void *r1 __asm("r1") = arg;
  __asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

/* RFC 8032 7.1 TEST 1 key; the message is a 128-byte header signed by it (seed 9d61..., Node) */
static const uint8_t PK[32] = {0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
                               0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a};
static const uint8_t SIG[64] = {0xe5, 0x56, 0x43, 0x00, 0xc3, 0x60, 0xac, 0x72, 0x90, 0x86, 0xe2, 0xcc, 0x80, 0x6e, 0x82, 0x8a,
                                0x84, 0x87, 0x7f, 0x1e, 0xb8, 0xe5, 0xd9, 0x74, 0xd8, 0x73, 0xe0, 0x65, 0x22, 0x49, 0x01, 0x55,
                                0x5f, 0xb8, 0x82, 0x15, 0x90, 0xa3, 0x3b, 0xac, 0xc6, 0x1e, 0x39, 0x70, 0x1c, 0xf9, 0xb4, 0x6b,
                                0xd2, 0x5b, 0xf5, 0xf0, 0x59, 0x5b, 0xbe, 0x24, 0x65, 0x51, 0x41, 0x43, 0x8e, 0x7a, 0x10, 0x0b};

/* No interrupts run here, so the memory below the stack pointer is free to paint. */
static uint8_t *stack_pointer(void) {
  uint8_t *sp;
  __asm volatile("mov %0, sp" : "=r"(sp));
  return sp;
}

int main(void) {
  char line[160];
  volatile uint8_t *top = stack_pointer();
  for (uint32_t i = 16; i < PAINT; i++) top[-(int32_t)i] = 0xA5;
  SYST_RVR = 0xFFFFFFu;
  SYST_CVR = 0;
  SYST_CSR = 5u; /* enable, CPU clock, no interrupt */
  uint32_t t0 = SYST_CVR;
  int ok = ed25519_verify(PK, NULL, 0, SIG);
  uint32_t t1 = SYST_CVR;
  uint32_t low = 16;
  for (uint32_t i = PAINT - 1; i >= 16; i--)
    if (top[-(int32_t)i] != 0xA5) {
      low = i;
      break;
    }
  size_t stack = low; /* bytes below main's stack pointer that the verify call wrote */
  uint8_t bad[64];
  memcpy(bad, SIG, 64);
  bad[3] ^= 1;
  int rejected = !ed25519_verify(PK, NULL, 0, bad);
  uint32_t ticks = (t0 - t1) & 0xFFFFFFu; /* counts down */
  snprintf(line, sizeof line, "ed25519-bench: valid %d rejected-flip %d systick %lu (25 MHz) stack %u bytes\n", ok, rejected,
           (unsigned long)ticks, (unsigned)stack);
  sh_call(0x04, line);
  uint32_t exit_args[2] = {0x20026u, 0}; /* ADP_Stopped_ApplicationExit */
  sh_call(0x18, (void *)exit_args);
  for (;;) {}
}

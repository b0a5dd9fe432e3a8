/* Update flash for QEMU mps2-an385: a host file reached through ARM semihosting (SYS_OPEN/SEEK/READ/
 * WRITE, ARM IHI 0086), so slots and boot records survive QEMU being killed and restarted, as flash
 * survives a power cut. The file is named by `-semihosting-config enable=on,target=native,arg=FILE`.
 * On silicon these four functions are the flash controller's program/erase routines. */
#include <string.h>
#include "fwimage.h"
#include "hal.h"

#define SYS_OPEN 0x01
#define SYS_WRITE0 0x04
#define SYS_WRITE 0x05
#define SYS_READ 0x06
#define SYS_SEEK 0x0A
#define SYS_GET_CMDLINE 0x15

static int sh_call(int op, void *arg) {
  register int r0 __asm("r0") = op;
  register void *r1 __asm("r1") = arg;
  __asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

static int nv_fd = -2; /* -2 not opened yet, -1 unavailable */

static int nv(void) {
  if (nv_fd != -2) return nv_fd;
  static char name[200];
  uint32_t cl[2] = {(uint32_t)name, sizeof name - 1};
  nv_fd = -1;
  if (sh_call(SYS_GET_CMDLINE, cl) != 0 || cl[1] == 0) return nv_fd;
  name[cl[1]] = 0;
  uint32_t op[3] = {(uint32_t)name, 3 /* "r+b" */, cl[1]};
  nv_fd = sh_call(SYS_OPEN, op);
  if (nv_fd < 0) nv_fd = -1;
  return nv_fd;
}

static int seek(uint32_t addr, size_t n) {
  if (nv() < 0 || addr > NV_SIZE || n > NV_SIZE - addr) return -1;
  uint32_t p[2] = {(uint32_t)nv_fd, addr};
  return sh_call(SYS_SEEK, p) == 0 ? 0 : -1;
}

int hal_nv_read(uint32_t addr, uint8_t *buf, size_t n) {
  if (seek(addr, n)) return -1;
  uint32_t p[3] = {(uint32_t)nv_fd, (uint32_t)buf, n};
  return sh_call(SYS_READ, p) == 0 ? 0 : -1; /* returns the bytes NOT read */
}

int hal_nv_write(uint32_t addr, const uint8_t *buf, size_t n) {
  if (seek(addr, n)) return -1;
  uint32_t p[3] = {(uint32_t)nv_fd, (uint32_t)buf, n};
  return sh_call(SYS_WRITE, p) == 0 ? 0 : -1;
}

int hal_nv_erase(uint32_t addr, size_t n) {
  static uint8_t ff[1024];
  memset(ff, 0xFF, sizeof ff);
  for (size_t done = 0; done < n; done += sizeof ff)
    if (hal_nv_write(addr + (uint32_t)done, ff, n - done < sizeof ff ? n - done : sizeof ff)) return -1;
  return 0;
}

void sh_log(const char *s) { sh_call(SYS_WRITE0, (void *)s); }

void hal_reset(void) {
  __asm volatile("dsb");
  *(volatile uint32_t *)0xE000ED0Cu = 0x05FA0004u; /* AIRCR: VECTKEY | SYSRESETREQ */
  for (;;) {}
}

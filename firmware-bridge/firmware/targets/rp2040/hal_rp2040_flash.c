/* Settings flash on the RP2040: one 256-byte page in the last 4 KB sector of a 2 MB QSPI flash, read
 * through XIP and written with the bootrom's flash routines (datasheet 2.8.3.1.3: connect_internal_flash,
 * flash_exit_xip, flash_range_erase, flash_range_program, flash_flush_cache, flash_enter_cmd_xip), found
 * through the bootrom's lookup table (2.8.3). While XIP is off nothing may run from flash, so the call
 * sequence runs from SRAM (section .ramfunc, copied at start-up) with interrupts masked; re-entering XIP
 * with flash_enter_cmd_xip gives the same 03h read mode as our generic boot2.
 * No update flash on this target: the A/B slots are not built for the RP2040 (hal_nv_* answer -1, so
 * FW_BEGIN and FW_RESET get NACK 9 "no update storage"). */
#include <string.h>
#include "hal.h"

#define FLASH_XIP 0x10000000u
#define SETTINGS_OFFSET (2048u * 1024u - 4096u)
#define SECTOR 4096u

typedef void (*rom_void_fn)(void);
typedef void (*rom_erase_fn)(uint32_t addr, size_t count, uint32_t block_size, uint8_t block_cmd);
typedef void (*rom_program_fn)(uint32_t addr, const uint8_t *data, size_t count);
typedef void *(*rom_lookup_fn)(uint32_t table, uint32_t code);

typedef struct {
  rom_void_fn connect, exit_xip, flush, enter_xip;
  rom_erase_fn erase;
  rom_program_fn program;
} rom_flash_t;

/* Bootrom layout (2.8.3): magic 'M' 'u' 0x01 at 0x10, u16 pointers at 0x14 (function table) and 0x18
 * (the lookup function). Address 0x10 is not a C object: the empty asm hides the constant from GCC's
 * array-bounds analysis, which takes a small constant address for a null pointer offset. */
static uint16_t rom_hword(uint32_t addr) {
  __asm volatile("" : "+r"(addr));
  return *(volatile const uint16_t *)addr;
}
static uint8_t rom_byte(uint32_t addr) {
  __asm volatile("" : "+r"(addr));
  return *(volatile const uint8_t *)addr;
}

static int rom_flash(rom_flash_t *r) {
  if (rom_byte(0x10) != 'M' || rom_byte(0x11) != 'u' || rom_byte(0x12) != 1) return -1; /* no bootrom (emulator) */
  rom_lookup_fn lookup = (rom_lookup_fn)(uintptr_t)rom_hword(0x18);
  uint32_t table = rom_hword(0x14);
#define ROM_FN(a, b) lookup(table, (uint32_t)(a) | (uint32_t)(b) << 8)
  r->connect = (rom_void_fn)ROM_FN('I', 'F');
  r->exit_xip = (rom_void_fn)ROM_FN('E', 'X');
  r->erase = (rom_erase_fn)ROM_FN('R', 'E');
  r->program = (rom_program_fn)ROM_FN('R', 'P');
  r->flush = (rom_void_fn)ROM_FN('F', 'C');
  r->enter_xip = (rom_void_fn)ROM_FN('C', 'X');
#undef ROM_FN
  return r->connect && r->exit_xip && r->erase && r->program && r->flush && r->enter_xip ? 0 : -1;
}

/* Runs from SRAM: no flash access (code, literals or data) between exit_xip and enter_xip.
 * -DH3LIX_TEST_RAMFUNC_IN_FLASH (negative control only) leaves it in flash, which would hang real silicon:
 * the rp2040js test's bootrom stand-in must catch it. */
#ifdef H3LIX_TEST_RAMFUNC_IN_FLASH
#define RAMFUNC __attribute__((noinline))
#else
#define RAMFUNC __attribute__((section(".ramfunc"), noinline, long_call))
#endif
RAMFUNC static void ram_erase_program(const rom_flash_t *r, const uint8_t *page) {
  __asm volatile("cpsid i" ::: "memory");
  r->connect();
  r->exit_xip();
  r->erase(SETTINGS_OFFSET, SECTOR, 1u << 16, 0xD8);
  r->program(SETTINGS_OFFSET, page, HAL_FLASH_PAGE);
  r->flush();
  r->enter_xip();
  __asm volatile("cpsie i" ::: "memory");
}

int hal_flash_read(uint8_t *buf, size_t n) {
  if (n > HAL_FLASH_PAGE) return -1;
  memcpy(buf, (const void *)(uintptr_t)(FLASH_XIP + SETTINGS_OFFSET), n);
  return 0;
}

int hal_flash_write(const uint8_t *buf, size_t n) {
  static uint8_t page[HAL_FLASH_PAGE]; /* in SRAM: the ROM reads it while XIP is off */
  static rom_flash_t rom;              /* in SRAM too, for the same reason */
  if (n > HAL_FLASH_PAGE || rom_flash(&rom)) return -1;
  memset(page, 0xFF, sizeof page);
  memcpy(page, buf, n);
  ram_erase_program(&rom, page);
  return memcmp((const void *)(uintptr_t)(FLASH_XIP + SETTINGS_OFFSET), page, sizeof page) ? -1 : 0;
}

int hal_nv_read(uint32_t addr, uint8_t *buf, size_t n) { (void)addr; (void)buf; (void)n; return -1; }
int hal_nv_write(uint32_t addr, const uint8_t *buf, size_t n) { (void)addr; (void)buf; (void)n; return -1; }
int hal_nv_erase(uint32_t addr, size_t n) { (void)addr; (void)n; return -1; }

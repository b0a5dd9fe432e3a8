/* Second-stage boot (boot2) for the RP2040: the 256-byte block at the start of flash that the bootrom
 * copies to SRAM 0x20041F00, checks (CRC-32 of the first 252 bytes, poly 0x04C11DB7, init 0xFFFFFFFF,
 * not reflected, no final xor, stored little-endian in the last 4: RP2040 datasheet 2.8.1.3.1) and
 * enters with lr = 0. It puts the SSI in execute-in-place mode with plain 03h serial reads, which every
 * SPI NOR flash answers (slow but generic: datasheet 4.10.10 "XIP configuration"), then enters the
 * application through its vector table at 0x10000100. The Makefile pads it and appends the CRC
 * (tools/boot2pad.c). */
  .syntax unified
  .cpu cortex-m0plus
  .thumb
  .section .text
  .global _boot2_entry
  .type _boot2_entry, %function
  .thumb_func
_boot2_entry:
  push {lr}
  ldr r3, =0x18000000          /* XIP_SSI_BASE */
  movs r1, #0
  str r1, [r3, #0x08]          /* SSIENR = 0: disable to configure */
  movs r1, #4
  str r1, [r3, #0x14]          /* BAUDR = 4: clk_sys / 4 for the flash SCK */
  ldr r1, =0x001F0300          /* CTRLR0: SPI_FRF std (22:21 = 0), DFS_32 = 31 (20:16), TMOD EEPROM read (9:8 = 3) */
  str r1, [r3, #0x00]
  ldr r1, =0x03000218          /* SPI_CTRLR0: XIP_CMD 0x03 (31:24), INST_L 8 bits (9:8 = 2), ADDR_L 24 bits (5:2 = 6), 1C1A */
  ldr r0, =0x180000F4
  str r1, [r0]
  movs r1, #0
  str r1, [r3, #0x04]          /* CTRLR1: NDF = 0, one 32-bit frame per read */
  movs r1, #1
  str r1, [r3, #0x08]          /* SSIENR = 1: XIP reads now become 03h commands */
  pop {r0}
  cmp r0, #0
  beq 1f
  bx r0                        /* called as a function (re-entering XIP after a flash write): return */
1:
  ldr r0, =0x10000100          /* the application's vector table */
  ldr r1, =0xE000ED08          /* VTOR */
  str r0, [r1]
  ldmia r0, {r0, r1}
  msr msp, r0
  bx r1
  .ltorg

/* Pads the assembled boot2 to 252 bytes and appends the CRC-32 the RP2040 bootrom checks
 * (poly 0x04C11DB7, init 0xFFFFFFFF, MSB first, no final xor; little-endian in bytes 252..255).
 * Usage: boot2pad IN.bin OUT.bin. Fails when boot2 does not fit. Mirrored by the TypeScript checker
 * (firmware-bridge/src/firmware/rp2040-image.ts). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint32_t crc32_msb(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  while (n--) {
    c ^= (uint32_t)*p++ << 24;
    for (int k = 0; k < 8; k++) c = (c & 0x80000000u) ? (c << 1) ^ 0x04C11DB7u : c << 1;
  }
  return c;
}

int main(int argc, char **argv) {
  uint8_t b[257];
  if (argc != 3) { fprintf(stderr, "usage: boot2pad IN.bin OUT.bin\n"); return 2; }
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 1; }
  memset(b, 0, sizeof b);
  size_t n = fread(b, 1, sizeof b, f);
  fclose(f);
  if (n > 252) { fprintf(stderr, "boot2pad: %s is %zu bytes, at most 252 fit before the CRC\n", argv[1], n); return 1; }
  uint32_t c = crc32_msb(b, 252);
  for (int i = 0; i < 4; i++) b[252 + i] = (uint8_t)(c >> (8 * i));
  f = fopen(argv[2], "wb");
  if (!f || fwrite(b, 1, 256, f) != 256 || fclose(f) != 0) { perror(argv[2]); return 1; }
  return 0;
}

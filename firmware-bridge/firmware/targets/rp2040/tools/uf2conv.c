/* Writes a flat flash image as UF2 (Microsoft UF2 spec: 512-byte blocks, magic 0x0A324655 0x9E5D5157,
 * end magic 0x0AB16F30, flag 0x2000 "family ID present"), 256 payload bytes per block, as the RP2040
 * bootrom's mass-storage loader wants them (datasheet 2.8.4.2), family ID 0xE48BFF56 (RP2040).
 * Usage: uf2conv IN.bin OUT.uf2 BASE_ADDRESS. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IMAGE (2u * 1024u * 1024u)

static void le32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t image[MAX_IMAGE];

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: uf2conv IN.bin OUT.uf2 BASE_ADDRESS\n"); return 2; }
  uint32_t base = (uint32_t)strtoul(argv[3], NULL, 0);
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 1; }
  size_t n = fread(image, 1, sizeof image, f);
  int more = fgetc(f) != EOF;
  fclose(f);
  if (n == 0 || more) { fprintf(stderr, "uf2conv: %s is empty or larger than %u bytes\n", argv[1], MAX_IMAGE); return 1; }
  uint32_t blocks = (uint32_t)((n + 255u) / 256u);
  FILE *o = fopen(argv[2], "wb");
  if (!o) { perror(argv[2]); return 1; }
  for (uint32_t i = 0; i < blocks; i++) {
    uint8_t blk[512];
    memset(blk, 0, sizeof blk);
    le32(blk + 0, 0x0A324655u);
    le32(blk + 4, 0x9E5D5157u);
    le32(blk + 8, 0x00002000u);
    le32(blk + 12, base + i * 256u);
    le32(blk + 16, 256u);
    le32(blk + 20, i);
    le32(blk + 24, blocks);
    le32(blk + 28, 0xE48BFF56u);
    size_t take = n - i * 256u < 256u ? n - i * 256u : 256u;
    memcpy(blk + 32, image + i * 256u, take); /* a short last block is padded with zeros */
    le32(blk + 508, 0x0AB16F30u);
    if (fwrite(blk, 1, sizeof blk, o) != sizeof blk) { perror(argv[2]); fclose(o); return 1; }
  }
  if (fclose(o) != 0) { perror(argv[2]); return 1; }
  return 0;
}

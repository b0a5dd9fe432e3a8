/* Boot and upload records (two copies each, sequence number + CRC-16) and image checks. */
#include <string.h>
#include "codec.h"
#include "fwimage.h"
#include "hal.h"
#include "sha256.h"

#define BOOT_MAGIC 0x52423348u /* "H3BR" */
#define UP_MAGIC 0x50553348u   /* "H3UP" */
#define BOOT_LEN 14u
#define UP_LEN 56u

static int rec_read(uint32_t addr, uint8_t *b, size_t n, uint32_t magic) {
  if (hal_nv_read(addr, b, n)) return 0;
  return rd32(b) == magic && rd16(b + n - 2) == crc16_ccitt_false(b, n - 2);
}

static int rec_write(uint32_t a0, uint32_t a1, uint8_t *b, size_t n, uint32_t seq) {
  wr16(b + n - 2, crc16_ccitt_false(b, n - 2));
#ifdef H3LIX_TEST_ONE_COPY
  (void)a1;
  (void)seq;
  return hal_nv_write(a0, b, n); /* negative control only: one record rewritten in place */
#endif
  /* seq decides the copy: the new record never overwrites the one it replaces */
  return hal_nv_write(seq & 1u ? a1 : a0, b, n);
}

void boot_rec_load(boot_rec_t *r) {
  uint8_t b[2][BOOT_LEN];
  int ok0 = rec_read(NV_BOOT0, b[0], BOOT_LEN, BOOT_MAGIC), ok1 = rec_read(NV_BOOT1, b[1], BOOT_LEN, BOOT_MAGIC);
#ifdef H3LIX_TEST_ONE_COPY
  ok1 = 0;
#endif
  r->seq = 0;
  r->active = 0;
  r->pending = SLOT_NONE;
  r->tries = 0;
  if (!ok0 && !ok1) return; /* factory state: slot 0 holds the first image */
  const uint8_t *p = ok0 && (!ok1 || rd32(b[0] + 4) > rd32(b[1] + 4)) ? b[0] : b[1];
  r->seq = rd32(p + 4);
  r->active = p[8] > 1 ? 0 : p[8];
  r->pending = p[9] > 1 ? SLOT_NONE : p[9];
  r->tries = p[10];
}

int boot_rec_store(boot_rec_t *r) {
  uint8_t b[BOOT_LEN];
  r->seq++;
  wr32(b, BOOT_MAGIC);
  wr32(b + 4, r->seq);
  b[8] = r->active;
  b[9] = r->pending;
  b[10] = r->tries;
  b[11] = 0;
  return rec_write(NV_BOOT0, NV_BOOT1, b, BOOT_LEN, r->seq);
}

void up_rec_load(up_rec_t *u) {
  uint8_t b[2][UP_LEN];
  int ok0 = rec_read(NV_UP0, b[0], UP_LEN, UP_MAGIC), ok1 = rec_read(NV_UP1, b[1], UP_LEN, UP_MAGIC);
#ifdef H3LIX_TEST_ONE_COPY
  ok1 = 0;
#endif
  memset(u, 0, sizeof *u);
  if (!ok0 && !ok1) return;
  const uint8_t *p = ok0 && (!ok1 || rd32(b[0] + 4) > rd32(b[1] + 4)) ? b[0] : b[1];
  u->seq = rd32(p + 4);
  u->slot = p[8];
  u->state = p[9];
  memcpy(u->version, p + 10, 3);
  u->size = rd32(p + 14);
  u->next = rd32(p + 18);
  memcpy(u->sha, p + 22, 32);
  if (u->slot > 1 || u->state > UP_COMPLETE || u->size > NV_SLOT_SIZE || u->next > u->size) u->state = UP_NONE;
}

int up_rec_store(up_rec_t *u) {
  uint8_t b[UP_LEN];
  u->seq++;
  wr32(b, UP_MAGIC);
  wr32(b + 4, u->seq);
  b[8] = u->slot;
  b[9] = u->state;
  memcpy(b + 10, u->version, 3);
  b[13] = 0;
  wr32(b + 14, u->size);
  wr32(b + 18, u->next);
  memcpy(b + 22, u->sha, 32);
  return rec_write(NV_UP0, NV_UP1, b, UP_LEN, u->seq);
}

int img_header(uint8_t slot, img_info_t *out) {
  uint8_t h[IMG_HEADER];
  if (slot > 1 || hal_nv_read(nv_slot_addr(slot), h, sizeof h)) return IMG_E_IO;
  if (rd32(h) != IMG_MAGIC || h[4] != 1 || rd16(h + 6) != IMG_HEADER) return IMG_E_FORMAT;
  out->size = rd32(h + IMG_OFF_SIZE);
  out->load = rd32(h + IMG_OFF_LOAD);
  memcpy(out->version, h + IMG_OFF_VERSION, 3);
  memcpy(out->board, h + IMG_OFF_BOARD, IMG_BOARD_MAX);
  out->board[IMG_BOARD_MAX] = 0;
  memcpy(out->sha, h + IMG_OFF_SHA, 32);
  if (out->size == 0 || out->size > NV_SLOT_SIZE - IMG_HEADER - IMG_SIG) return IMG_E_FORMAT;
#ifdef IMG_LOAD_ADDR
  if (out->load != IMG_LOAD_ADDR) return IMG_E_FORMAT; /* linked for another address: would not run */
#endif
  if (strcmp(out->board, hal_board_name()) != 0) return IMG_E_BOARD;
  return IMG_OK;
}

int img_verify(uint8_t slot, img_info_t *out) {
  int r = img_header(slot, out);
  if (r) return r;
#ifdef H3LIX_TEST_NO_DIGEST
  return IMG_OK; /* negative control only: the cut-point test must then find a bad image booted */
#else
  sha256_t s;
  uint8_t buf[256], d[32];
  sha256_init(&s);
  for (uint32_t off = 0; off < out->size; off += sizeof buf) {
    size_t n = out->size - off < sizeof buf ? out->size - off : sizeof buf;
    if (hal_nv_read(nv_slot_addr(slot) + IMG_HEADER + off, buf, n)) return IMG_E_IO;
    sha256_update(&s, buf, n);
  }
  sha256_final(&s, d);
  return memcmp(d, out->sha, 32) ? IMG_E_DIGEST : IMG_OK;
#endif
}

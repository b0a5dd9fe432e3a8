/* Receiving an image into the inactive slot (firmware-bridge/README.md "Firmware updates"). */
#include <string.h>
#include "codec.h"
#include "ed25519.h"
#ifndef H3LIX_NO_FLEET_KEY
#include "fleet_key.h" /* H3LIX_FLEET_PUBKEY from the Makefile's FLEET_PUBKEY, or nothing */
#endif
#include "fwupdate.h"
#include "hal.h"
#include "proto.h"

void fwu_init(fwu_t *f, const uint8_t version[3]) {
  memset(f, 0, sizeof *f);
  memcpy(f->version, version, 3);
  uint8_t probe;
  f->avail = hal_nv_read(NV_BOOT0, &probe, 1) == 0;
  f->running = SLOT_NONE;
  if (!f->avail) return;
  boot_rec_t r;
  boot_rec_load(&r);
  /* the boot stage ran pending with tries 1 only when it chose it for a trial */
  f->trial = r.pending != SLOT_NONE && r.pending != r.active && r.tries >= 1;
  f->running = f->trial ? r.pending : r.active;
  f->trial_start_ms = hal_millis();
  up_rec_load(&f->up);
  /* A cut between CONFIRM's two writes (boot record, then update record) leaves the update record
     "complete" for the slot that is now active and confirmed: that update is over, not pending. */
  if (!f->trial && f->up.state == UP_COMPLETE && f->up.slot == r.active && r.pending == SLOT_NONE) {
    f->up.state = UP_NONE;
    (void)up_rec_store(&f->up);
  }
  f->persisted = f->up.next;
}

void fwu_state(const fwu_t *f, uint8_t *out) {
  out[0] = f->trial ? FWS_TRIAL : f->up.state == UP_RECEIVING ? FWS_RECEIVING : f->up.state == UP_COMPLETE ? FWS_COMPLETE : FWS_IDLE;
  out[1] = f->running;
  memcpy(out + 2, f->version, 3);
  wr32(out + 5, f->up.state ? f->up.next : 0);
  wr32(out + 9, f->up.state ? f->up.size : 0);
}

static int vcmp(const uint8_t *a, const uint8_t *b) {
  for (int i = 0; i < 3; i++)
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

int fwu_begin(fwu_t *f, const uint8_t *pl, size_t n, uint8_t *out) {
  /* size u32 | sha256 [32] | version [3] | flags u8 (bit0 allow downgrade) | board 1..24 */
  if (n < 41 || n > 64) return NACK_BAD_LENGTH;
  if (!f->avail) return NACK_FW_STORAGE;
  if (f->trial) return NACK_FW_STATE; /* confirm (or reset) the image on trial first */
  uint32_t size = rd32(pl);
  const char *board = hal_board_name();
  if (n - 40 != strlen(board) || memcmp(pl + 40, board, n - 40) != 0) return NACK_FW_BOARD;
  if (!(pl[39] & 1u) && vcmp(pl + 36, f->version) < 0) return NACK_FW_DOWNGRADE;
  if (size <= IMG_HEADER + IMG_SIG || size > NV_SLOT_SIZE) return NACK_OUT_OF_RANGE;
  uint8_t target = (uint8_t)(1u - f->running);
  up_rec_t *u = &f->up;
  if (u->state != UP_NONE && u->slot == target && u->size == size && !memcmp(u->sha, pl + 4, 32) && !memcmp(u->version, pl + 36, 3)) {
    fwu_state(f, out); /* the same image again: resume where the flash says we are */
    return 0;
  }
  boot_rec_t r;
  boot_rec_load(&r);
  if (r.pending != SLOT_NONE) { /* a finished, not yet booted image is being replaced: never boot it half-erased */
    r.pending = SLOT_NONE;
    r.tries = 0;
    if (boot_rec_store(&r)) return NACK_FW_STORAGE;
  }
  /* record first (state none), erase, then announce: a cut mid-erase leaves no record naming the slot */
  u->state = UP_NONE;
  if (up_rec_store(u) || hal_nv_erase(nv_slot_addr(target), NV_SLOT_SIZE)) return NACK_FW_STORAGE;
  u->slot = target;
  u->state = UP_RECEIVING;
  u->size = size;
  u->next = 0;
  memcpy(u->sha, pl + 4, 32);
  memcpy(u->version, pl + 36, 3);
  if (up_rec_store(u)) return NACK_FW_STORAGE;
  f->persisted = 0;
  fwu_state(f, out);
  return 0;
}

int fwu_chunk(fwu_t *f, const uint8_t *pl, size_t n, uint8_t *out) {
  /* offset u32 | data 1..60 */
  if (n < 5 || n > 4 + FWU_CHUNK_MAX) return NACK_BAD_LENGTH;
  up_rec_t *u = &f->up;
  if (f->trial || u->state == UP_NONE) return NACK_FW_STATE;
  uint32_t off = rd32(pl), len = (uint32_t)(n - 4);
  if (off > u->size || len > u->size - off) return NACK_OUT_OF_RANGE;
  if (u->state == UP_RECEIVING && off == u->next) {
    if (hal_nv_write(nv_slot_addr(u->slot) + off, pl + 4, len)) return NACK_FW_STORAGE;
    u->next += len;
    if (u->next - f->persisted >= FWU_PERSIST_EVERY || u->next == u->size) {
      if (up_rec_store(u)) return NACK_FW_STORAGE;
      f->persisted = u->next;
    }
  }
  /* any other offset writes nothing: a repeat is acknowledged, a gap tells the host where to go on */
  fwu_state(f, out);
  return 0;
}

/* The image's Ed25519 signature (the 64 bytes after the payload) over its 128-byte header, against the
 * fleet key compiled into this firmware. The header holds the payload's SHA-256, which img_verify has
 * just checked, so a valid signature covers every byte of the image. IMG_OK, IMG_E_SIGNATURE or IMG_E_IO. */
static int img_signature(uint8_t slot, const img_info_t *img) {
#ifdef H3LIX_TEST_NO_SIGCHECK
  (void)slot;
  (void)img;
  return IMG_OK; /* negative control only: the QEMU test must then see a forged image accepted */
#elif defined(H3LIX_FLEET_PUBKEY)
  static const uint8_t fleet_key[32] = H3LIX_FLEET_PUBKEY;
  uint8_t h[IMG_HEADER], sig[IMG_SIG];
  uint32_t base = nv_slot_addr(slot);
  if (hal_nv_read(base, h, sizeof h) || hal_nv_read(base + IMG_HEADER + img->size, sig, sizeof sig)) return IMG_E_IO;
  return ed25519_verify(fleet_key, h, sizeof h, sig) ? IMG_OK : IMG_E_SIGNATURE;
#else
  (void)slot;
  (void)img;
  return IMG_E_SIGNATURE; /* built without a fleet key: nothing can be shown to come from the fleet */
#endif
}

int fwu_finish(fwu_t *f, uint8_t *out) {
  up_rec_t *u = &f->up;
  if (f->trial || u->state == UP_NONE || u->next != u->size) return NACK_FW_STATE;
  img_info_t img;
  int v = img_verify(u->slot, &img);
  if (v == IMG_OK && (img.size + IMG_HEADER + IMG_SIG != u->size || memcmp(img.sha, u->sha, 32) || memcmp(img.version, u->version, 3))) v = IMG_E_DIGEST;
  if (v == IMG_OK && u->state != UP_COMPLETE) v = img_signature(u->slot, &img); /* once: a retried FINISH does not pay again */
  if (v != IMG_OK) {
    u->state = UP_NONE; /* start again from FW_BEGIN: the slot is never made bootable */
    (void)up_rec_store(u);
    return v == IMG_E_IO ? NACK_FW_STORAGE : v == IMG_E_BOARD ? NACK_FW_BOARD : v == IMG_E_SIGNATURE ? NACK_FW_SIGNATURE : NACK_FW_DIGEST;
  }
  if (u->state != UP_COMPLETE) {
    u->state = UP_COMPLETE;
    if (up_rec_store(u)) return NACK_FW_STORAGE;
  }
  boot_rec_t r;
  boot_rec_load(&r);
  if (r.pending != u->slot || r.tries != 0) {
    r.pending = u->slot;
    r.tries = 0;
    if (boot_rec_store(&r)) return NACK_FW_STORAGE;
  }
  fwu_state(f, out);
  return 0;
}

int fwu_confirm(fwu_t *f) {
  if (!f->avail) return NACK_FW_STORAGE;
  if (!f->trial) return 0; /* already confirmed: a retried CONFIRM */
  boot_rec_t r;
  boot_rec_load(&r);
  r.active = f->running;
  r.pending = SLOT_NONE;
  r.tries = 0;
  if (boot_rec_store(&r)) return NACK_FW_STORAGE;
  f->trial = 0;
  f->up.state = UP_NONE;
  (void)up_rec_store(&f->up);
  return 0;
}

int fwu_trial_expired(const fwu_t *f, uint32_t now_ms) { return f->trial && now_ms - f->trial_start_ms >= FWU_TRIAL_MS; }

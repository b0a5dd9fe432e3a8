/* Boot slot selection (firmware-bridge/README.md "Firmware updates", boot stage). Every step that changes
 * the outcome of the next boot is written to the boot record BEFORE the image runs, so a power cut at any
 * instant leaves a record that selects a verified image. */
#include "fwimage.h"

uint8_t boot_select(img_info_t *img, int *trial) {
  boot_rec_t r;
  boot_rec_load(&r);
  *trial = 0;
  if (r.pending != SLOT_NONE && r.pending != r.active) {
#ifndef H3LIX_TEST_NO_REVERT
    if (r.tries == 0) {
#endif
      /* first boot of the new image: count the try first, so a reset before the confirm reverts */
      r.tries = 1;
      if (boot_rec_store(&r) == 0 && img_verify(r.pending, img) == IMG_OK) {
        *trial = 1;
        return r.pending;
      }
#ifndef H3LIX_TEST_NO_REVERT
    }
#endif
    /* tried and never confirmed (or does not verify): revert to the confirmed slot */
    r.pending = SLOT_NONE;
    r.tries = 0;
    (void)boot_rec_store(&r);
  }
  if (img_verify(r.active, img) == IMG_OK) return r.active;
  uint8_t other = (uint8_t)(1u - r.active);
  if (img_verify(other, img) == IMG_OK) { /* the confirmed slot is damaged: the other one is all there is */
    r.active = other;
    r.pending = SLOT_NONE;
    (void)boot_rec_store(&r);
    return other;
  }
  return SLOT_NONE;
}

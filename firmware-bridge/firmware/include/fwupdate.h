/* Firmware update over the serial link: FW_BEGIN / FW_CHUNK / FW_FINISH / FW_CONFIRM / FW_RESET /
 * FW_GET_STATE (firmware-bridge/README.md "Firmware updates"). Pure logic over the HAL's update flash. */
#ifndef H3LIX_FWUPDATE_H
#define H3LIX_FWUPDATE_H
#include <stddef.h>
#include <stdint.h>
#include "fwimage.h"

#define FWU_CHUNK_MAX 60u
#define FWU_PERSIST_EVERY 1024u
/* An image on trial that the runtime has not confirmed after this long resets (and so reverts). */
#ifndef FWU_TRIAL_MS
#define FWU_TRIAL_MS 120000u
#endif
#define FWU_STATE_LEN 13u

enum fw_state { FWS_IDLE = 0, FWS_RECEIVING = 1, FWS_COMPLETE = 2, FWS_TRIAL = 3 };

typedef struct {
  uint8_t avail;   /* the target has update flash */
  uint8_t running; /* slot this image was booted from (SLOT_NONE without update flash) */
  uint8_t trial;   /* booted on trial: revert at the next reset unless confirmed */
  uint8_t version[3];
  uint32_t trial_start_ms, persisted;
  up_rec_t up;
} fwu_t;

void fwu_init(fwu_t *f, const uint8_t version[3]);
/* Each returns 0 (out holds the FW_STATE payload, FWU_STATE_LEN bytes) or a NACK reason. */
int fwu_begin(fwu_t *f, const uint8_t *pl, size_t n, uint8_t *out);
int fwu_chunk(fwu_t *f, const uint8_t *pl, size_t n, uint8_t *out);
int fwu_finish(fwu_t *f, uint8_t *out);
void fwu_state(const fwu_t *f, uint8_t *out);
/* Make the running trial image the confirmed one (idempotent). 0 or a NACK reason. */
int fwu_confirm(fwu_t *f);
/* 1 when a trial has run FWU_TRIAL_MS without a confirm: the caller resets. */
int fwu_trial_expired(const fwu_t *f, uint32_t now_ms);

#endif

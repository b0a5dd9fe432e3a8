/* Firmware images, A/B slots and boot records in the update flash (firmware-bridge/README.md
 * "Firmware updates"). The layout is mirrored by firmware-bridge/src/firmware/nv-flash.ts. */
#ifndef H3LIX_FWIMAGE_H
#define H3LIX_FWIMAGE_H
#include <stddef.h>
#include <stdint.h>

/* Image = header (128) | payload (size) | Ed25519 signature (64) over the header. */
#define IMG_MAGIC 0x57463348u /* "H3FW" little-endian */
#define IMG_HEADER 128u
#define IMG_SIG 64u
#define IMG_OFF_SIZE 8u
#define IMG_OFF_LOAD 12u
#define IMG_OFF_VERSION 16u
#define IMG_OFF_BOARD 20u
#define IMG_BOARD_MAX 32u
#define IMG_OFF_SHA 52u

/* Update flash: byte-addressed through hal_nv_*. */
#define NV_BOOT0 0x0000u
#define NV_BOOT1 0x0100u
#define NV_UP0 0x0200u
#define NV_UP1 0x0300u
#define NV_SETTINGS 0x0400u
#define NV_SLOT0 0x1000u
#define NV_SLOT_SIZE 0x1F000u
#define NV_SIZE 0x40000u
#define SLOT_NONE 0xFFu
static inline uint32_t nv_slot_addr(uint8_t slot) { return NV_SLOT0 + (uint32_t)slot * (NV_SLOT_SIZE + 0x1000u); }

typedef struct {
  uint32_t seq;
  uint8_t active;  /* the confirmed slot */
  uint8_t pending; /* slot to boot in test mode, SLOT_NONE when none */
  uint8_t tries;   /* boots of `pending` so far: 0 = not yet tried, 1 = on trial (not confirmed) */
} boot_rec_t;

enum up_state { UP_NONE = 0, UP_RECEIVING = 1, UP_COMPLETE = 2 };
typedef struct {
  uint32_t seq;
  uint8_t slot, state;
  uint8_t version[3];
  uint32_t size, next;
  uint8_t sha[32];
} up_rec_t;

typedef struct {
  uint32_t size, load;
  uint8_t version[3];
  char board[IMG_BOARD_MAX + 1];
  uint8_t sha[32];
} img_info_t;

/* Boot record: both copies read, the valid one with the higher seq wins; none valid = factory (slot 0). */
void boot_rec_load(boot_rec_t *r);
/* Write r with seq+1 into the copy not holding the current record (a torn write leaves the old one). */
int boot_rec_store(boot_rec_t *r);
void up_rec_load(up_rec_t *u); /* state UP_NONE when neither copy is valid */
int up_rec_store(up_rec_t *u);
/* Parse and check the header of the image in `slot` (magic, sizes, board). 0 ok, else an IMG_E_* code. */
int img_header(uint8_t slot, img_info_t *out);
/* Header checks plus SHA-256 of the payload against the header's digest. */
int img_verify(uint8_t slot, img_info_t *out);
/* The boot stage's decision at every reset (MCUboot-style test/confirm/revert over A/B slots): returns the
 * slot to run (its header in *img) or SLOT_NONE when no slot holds a valid image; *trial = 1 when it is a
 * test boot of an unconfirmed image. Updates the boot record before the image runs. */
uint8_t boot_select(img_info_t *img, int *trial);
enum { IMG_OK = 0, IMG_E_IO = 1, IMG_E_FORMAT = 2, IMG_E_BOARD = 3, IMG_E_DIGEST = 4, IMG_E_SIGNATURE = 5 };

#endif

#include <stddef.h>
#include <string.h>
#include "settings.h"
#include "codec.h"
#include "hal.h"

void settings_defaults(settings_t *s) {
  memset(s, 0, sizeof *s);
  s->magic = SETTINGS_MAGIC;
  s->version = 1;
  s->sample_ms = 1000;
  s->wd_off_s = 10;
  s->cutoff_pm = 50;
  s->restart_pm = 150;
  s->capacity_mah = 7812; /* 100 Wh at 12.8 V */
}

static uint16_t settings_crc(const settings_t *s) { return crc16_ccitt_false((const uint8_t *)s, offsetof(settings_t, crc)); }

int settings_load(settings_t *s) {
  _Static_assert(sizeof(settings_t) <= HAL_FLASH_PAGE, "settings fit one flash page");
  settings_t tmp;
  if (hal_flash_read((uint8_t *)&tmp, sizeof tmp) == 0 && tmp.magic == SETTINGS_MAGIC && tmp.version == 1 && tmp.crc == settings_crc(&tmp)
      && tmp.sample_ms >= 100 && tmp.sample_ms <= 3600000 && tmp.capacity_mah > 0) {
    *s = tmp;
    return 1;
  }
  settings_defaults(s);
  return 0;
}

int settings_save(settings_t *s) {
  s->crc = settings_crc(s);
  return hal_flash_write((const uint8_t *)s, sizeof *s);
}

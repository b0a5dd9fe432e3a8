/* Settings kept in one flash page with a CRC-16; a bad or blank page loads the defaults. */
#ifndef H3LIX_SETTINGS_H
#define H3LIX_SETTINGS_H
#include <stdint.h>

typedef struct {
  uint32_t magic;            /* 'H3LX' */
  uint16_t version;          /* layout version, 1 */
  uint16_t wd_timeout_s;     /* 0 = watchdog off */
  uint32_t sample_ms;        /* READING stream interval */
  uint16_t wd_off_s;         /* power-cycle off time */
  uint16_t cutoff_pm;        /* low-battery shutdown, SOC per mille */
  uint16_t restart_pm;       /* wake after a low-battery shutdown */
  uint16_t crc;              /* CRC-16/CCITT-FALSE over the bytes before it */
  uint32_t capacity_mah;     /* battery capacity for coulomb counting */
} settings_t;

#define SETTINGS_MAGIC 0x584C3348u

void settings_defaults(settings_t *s);
/* Returns 1 when the stored page was valid, 0 when defaults were loaded. */
int settings_load(settings_t *s);
int settings_save(settings_t *s);

#endif

/* COBS framing and CRC-16/CCITT-FALSE (firmware-bridge/README.md "Framing"). */
#ifndef H3LIX_CODEC_H
#define H3LIX_CODEC_H
#include <stddef.h>
#include <stdint.h>

uint16_t crc16_ccitt_false(const uint8_t *p, size_t n);
/* Encode n bytes into out (capacity cap); returns the encoded length (without delimiter) or 0 if it does not fit. */
size_t cobs_encode(const uint8_t *in, size_t n, uint8_t *out, size_t cap);
/* Decode n bytes (delimiter removed) into out (capacity cap); returns the length or -1 if not valid COBS. */
int cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap);
/* Little-endian helpers. */
static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24); }
static inline void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void wr32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24); }

#endif

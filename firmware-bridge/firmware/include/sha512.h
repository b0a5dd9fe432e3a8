/* SHA-512 (FIPS 180-4), streaming, no heap: Ed25519 verification hashes R || A || M with it. */
#ifndef H3LIX_SHA512_H
#define H3LIX_SHA512_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t h[8];
  uint64_t len; /* bytes so far (messages here are far below 2^61 bytes) */
  uint8_t buf[128];
  size_t fill;
} sha512_t;

void sha512_init(sha512_t *s);
void sha512_update(sha512_t *s, const uint8_t *p, size_t n);
void sha512_final(sha512_t *s, uint8_t out[64]);

#endif

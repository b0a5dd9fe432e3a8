/* Ed25519 signature verification only (RFC 8032 section 5.1.7), no heap, no secret data (so not constant
 * time). The firmware checks the fleet key's signature over an image header with it. */
#ifndef H3LIX_ED25519_H
#define H3LIX_ED25519_H
#include <stddef.h>
#include <stdint.h>

/* 1 when sig (R || S, 64 bytes) is a valid signature of msg under the public key pk (32 bytes), else 0.
 * Rejected: S >= L, an A or R whose encoding is not canonical (y >= p, or x = 0 with the sign bit set), an
 * A that is not on the curve. The check is the cofactorless one, [S]B - [k]A encoded == R byte for byte. */
int ed25519_verify(const uint8_t pk[32], const uint8_t *msg, size_t n, const uint8_t sig[64]);

/* Exposed for the unit tests: 1 when the 32 bytes decode to a curve point under the rules above. */
int ed25519_point_valid(const uint8_t enc[32]);

#endif

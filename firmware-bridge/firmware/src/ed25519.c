/* Ed25519 verification (RFC 8032 section 5.1): field GF(2^255 - 19) in 16 limbs of 16 bits held in int64
 * (room for the sums of products without carries in between), points in extended twisted Edwards
 * coordinates (X : Y : Z : T), x = X/Z, y = Y/Z, xy = T/Z (RFC 8032 5.1.4). Verification handles only
 * public data, so nothing here tries to be constant time. */
#include <string.h>
#include "ed25519.h"
#include "sha512.h"

typedef int64_t fe[16];
typedef struct { fe x, y, z, t; } pt;

/* d = -121665/121666 and sqrt(-1) = 2^((p-1)/4), little-endian 16-bit limbs (checked by test_ed25519). */
static const fe D = {0x78a3, 0x1359, 0x4dca, 0x75eb, 0xd8ab, 0x4141, 0x0a4d, 0x0070,
                     0xe898, 0x7779, 0x4079, 0x8cc7, 0xfe73, 0x2b6f, 0x6cee, 0x5203};
static const fe SQRTM1 = {0xa0b0, 0x4a0e, 0x1b27, 0xc4ee, 0xe478, 0xad2f, 0x1806, 0x2f43,
                          0xd7a7, 0x3dfb, 0x0099, 0x2b4d, 0xdf0b, 0x4fc1, 0x2480, 0x2b83};
/* The base point B (RFC 8032 5.1: y = 4/5, x even). */
static const uint8_t B_ENC[32] = {0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                                  0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                                  0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66};
/* L = 2^252 + 27742317777372353535851937790883648493, the order of B, little-endian 32-bit words. */
static const uint32_t L_W[8] = {0x5cf5d3edu, 0x5812631au, 0xa2f79cd6u, 0x14def9deu, 0, 0, 0, 0x10000000u};

static void fe_set(fe o, int64_t v) {
  memset(o, 0, sizeof(fe));
  o[0] = v;
}

/* Bring every limb back to [0, 2^16) except the top one's carry, which wraps as 2^256 = 38 (mod p). */
static void fe_carry(fe o) {
  for (int i = 0; i < 16; i++) {
    int64_t c = o[i] >> 16; /* arithmetic shift: floor division, also for negative limbs */
    o[i] -= c * 65536;
    if (i < 15) o[i + 1] += c;
    else o[0] += 38 * c;
  }
}

static void fe_add(fe o, const fe a, const fe b) {
  for (int i = 0; i < 16; i++) o[i] = a[i] + b[i];
}

static void fe_sub(fe o, const fe a, const fe b) {
  for (int i = 0; i < 16; i++) o[i] = a[i] - b[i];
}

/* Limbs entering a product are below 2^20 in magnitude (carried values plus a few additions), so each
 * product is a 32 x 32 -> 64-bit signed multiply (one SMLAL on Cortex-M3, not a 64 x 64 one). */
static void fe_mul(fe o, const fe a, const fe b) {
  int64_t t[31] = {0};
  int32_t x[16], y[16];
  for (int i = 0; i < 16; i++) {
    x[i] = (int32_t)a[i];
    y[i] = (int32_t)b[i];
  }
  for (int i = 0; i < 16; i++)
    for (int j = 0; j < 16; j++) t[i + j] += (int64_t)x[i] * y[j];
  for (int i = 0; i < 15; i++) t[i] += 38 * t[i + 16]; /* limb 16+i weighs 2^256 * 2^(16i) */
  memcpy(o, t, sizeof(fe));
  fe_carry(o);
  fe_carry(o);
}

/* Squaring: each cross product once, doubled (136 products instead of 256). */
static void fe_sq(fe o, const fe a) {
  int64_t t[31] = {0};
  int32_t x[16];
  for (int i = 0; i < 16; i++) x[i] = (int32_t)a[i];
  for (int i = 0; i < 16; i++) {
    t[2 * i] += (int64_t)x[i] * x[i];
    int32_t d = 2 * x[i];
    for (int j = i + 1; j < 16; j++) t[i + j] += (int64_t)d * x[j];
  }
  for (int i = 0; i < 15; i++) t[i] += 38 * t[i + 16];
  memcpy(o, t, sizeof(fe));
  fe_carry(o);
  fe_carry(o);
}

/* Canonical little-endian encoding (value reduced below p). */
static void fe_pack(uint8_t out[32], const fe a) {
  fe t, m;
  memcpy(t, a, sizeof t);
  fe_carry(t);
  fe_carry(t);
  fe_carry(t); /* now 0 <= t < 2^256 with 16-bit limbs; subtract p up to twice */
  for (int pass = 0; pass < 2; pass++) {
    m[0] = t[0] - 0xffed;
    for (int i = 1; i < 15; i++) {
      m[i] = t[i] - 0xffff - ((m[i - 1] >> 16) & 1);
      m[i - 1] &= 0xffff;
    }
    m[15] = t[15] - 0x7fff - ((m[14] >> 16) & 1);
    m[14] &= 0xffff;
    int borrow = (int)((m[15] >> 16) & 1);
    m[15] &= 0xffff;
    if (!borrow) memcpy(t, m, sizeof t); /* t >= p: keep t - p */
  }
  for (int i = 0; i < 16; i++) {
    out[2 * i] = (uint8_t)(t[i] & 0xff);
    out[2 * i + 1] = (uint8_t)((t[i] >> 8) & 0xff);
  }
}

/* The low 255 bits of the encoding (the top bit is x's sign for points). */
static void fe_unpack(fe o, const uint8_t in[32]) {
  for (int i = 0; i < 16; i++) o[i] = in[2 * i] | ((int64_t)in[2 * i + 1] << 8);
  o[15] &= 0x7fff;
}

static int fe_eq(const fe a, const fe b) {
  uint8_t x[32], y[32];
  fe_pack(x, a);
  fe_pack(y, b);
  return memcmp(x, y, 32) == 0;
}

static int fe_parity(const fe a) {
  uint8_t x[32];
  fe_pack(x, a);
  return x[0] & 1;
}

/* a^(p-2) = 1/a: p - 2 = 2^255 - 21, every bit 254..0 set except bits 4 and 2. */
static void fe_inv(fe o, const fe a) {
  fe c;
  memcpy(c, a, sizeof c);
  for (int i = 253; i >= 0; i--) {
    fe_sq(c, c);
    if (i != 4 && i != 2) fe_mul(c, c, a);
  }
  memcpy(o, c, sizeof c);
}

/* a^((p-5)/8): (p - 5)/8 = 2^252 - 3, every bit 251..0 set except bit 1. */
static void fe_pow2523(fe o, const fe a) {
  fe c;
  memcpy(c, a, sizeof c);
  for (int i = 250; i >= 0; i--) {
    fe_sq(c, c);
    if (i != 1) fe_mul(c, c, a);
  }
  memcpy(o, c, sizeof c);
}

/* RFC 8032 5.1.3: decode, refusing y >= p, points off the curve, and x = 0 with the sign bit set. */
static int pt_decode(pt *p, const uint8_t in[32]) {
  fe one, u, v, v3, t, chk;
  uint8_t y_enc[32];
  int sign = in[31] >> 7;
  fe_unpack(p->y, in);
  fe_pack(y_enc, p->y);
  y_enc[31] |= (uint8_t)(sign << 7);
  if (memcmp(y_enc, in, 32) != 0) return 0; /* y >= p: not the canonical encoding */
  fe_set(one, 1);
  fe_set(p->z, 1);
  fe_sq(u, p->y);
  fe_mul(v, u, D);
  fe_sub(u, u, one); /* u = y^2 - 1 */
  fe_add(v, v, one); /* v = d y^2 + 1 */
  fe_sq(v3, v);
  fe_mul(v3, v3, v); /* v^3 */
  fe_sq(t, v3);
  fe_mul(t, t, v);
  fe_mul(t, t, u); /* u v^7 */
  fe_pow2523(t, t);
  fe_mul(t, t, v3);
  fe_mul(p->x, t, u); /* candidate x = u v^3 (u v^7)^((p-5)/8) */
  fe_sq(chk, p->x);
  fe_mul(chk, chk, v); /* v x^2 */
  if (!fe_eq(chk, u)) {
    fe zero;
    fe_set(zero, 0);
    fe_sub(t, zero, u);
    if (!fe_eq(chk, t)) return 0; /* u/v is not a square: not a point */
    fe_mul(p->x, p->x, SQRTM1);
  }
  fe zero;
  fe_set(zero, 0);
  if (fe_eq(p->x, zero) && sign) return 0; /* x = 0 has only the encoding with sign 0 */
  if (fe_parity(p->x) != sign) fe_sub(p->x, zero, p->x);
  fe_mul(p->t, p->x, p->y);
  return 1;
}

/* RFC 8032 5.1.4 addition (a = -1), complete. */
static void pt_add(pt *o, const pt *p, const pt *q) {
  fe a, b, c, d, e, f, g, h;
  fe_sub(a, p->y, p->x);
  fe_sub(h, q->y, q->x);
  fe_mul(a, a, h);
  fe_add(b, p->y, p->x);
  fe_add(h, q->y, q->x);
  fe_mul(b, b, h);
  fe_mul(c, p->t, q->t);
  fe_mul(c, c, D);
  fe_add(c, c, c); /* T1 * 2d * T2 */
  fe_mul(d, p->z, q->z);
  fe_add(d, d, d);
  fe_sub(e, b, a);
  fe_sub(f, d, c);
  fe_add(g, d, c);
  fe_add(h, b, a);
  fe_mul(o->x, e, f);
  fe_mul(o->y, g, h);
  fe_mul(o->t, e, h);
  fe_mul(o->z, f, g);
}

/* RFC 8032 5.1.4 doubling (4 squarings and 4 products instead of the addition's 9 products). */
static void pt_double(pt *o, const pt *p) {
  fe a, b, c, e, f, g, h;
  fe_sq(a, p->x);
  fe_sq(b, p->y);
  fe_sq(c, p->z);
  fe_add(c, c, c); /* C = 2 Z1^2 */
  fe_add(h, a, b);
  fe_add(e, p->x, p->y);
  fe_sq(e, e);
  fe_sub(e, h, e); /* E = H - (X1 + Y1)^2 */
  fe_sub(g, a, b);
  fe_add(f, c, g);
  fe_mul(o->x, e, f);
  fe_mul(o->y, g, h);
  fe_mul(o->t, e, h);
  fe_mul(o->z, f, g);
}

static void pt_encode(uint8_t out[32], const pt *p) {
  fe zi, x, y;
  fe_inv(zi, p->z);
  fe_mul(x, p->x, zi);
  fe_mul(y, p->y, zi);
  fe_pack(out, y);
  out[31] |= (uint8_t)(fe_parity(x) << 7);
}

static int bit(const uint8_t s[32], int i) { return (s[i >> 3] >> (i & 7)) & 1; }

/* x mod L for a 512-bit little-endian x, one bit at a time (r = 2r + bit, minus L when r >= L): slow next
 * to Barrett, and obviously right; 512 steps of 8-word arithmetic are nothing beside the scalar products. */
static int ge_l(const uint32_t r[9]) {
  if (r[8]) return 1;
  for (int i = 7; i >= 0; i--)
    if (r[i] != L_W[i]) return r[i] > L_W[i];
  return 1;
}

static void sub_l(uint32_t r[9]) {
  uint64_t borrow = 0;
  for (int i = 0; i < 9; i++) {
    uint64_t d = (uint64_t)r[i] - (i < 8 ? L_W[i] : 0) - borrow;
    r[i] = (uint32_t)d;
    borrow = (d >> 32) & 1;
  }
}

static void mod_l(uint8_t out[32], const uint8_t in[64]) {
  uint32_t r[9] = {0};
  for (int i = 511; i >= 0; i--) {
    for (int w = 8; w > 0; w--) r[w] = (r[w] << 1) | (r[w - 1] >> 31);
    r[0] = (r[0] << 1) | (uint32_t)bit(in, i);
    if (ge_l(r)) sub_l(r);
  }
  for (int i = 0; i < 32; i++) out[i] = (uint8_t)(r[i >> 2] >> (8 * (i & 3)));
}

static int scalar_canonical(const uint8_t s[32]) { /* S < L (RFC 8032 5.1.7 step 1) */
  uint32_t r[9] = {0};
  for (int i = 0; i < 32; i++) r[i >> 2] |= (uint32_t)s[i] << (8 * (i & 3));
  return !ge_l(r);
}

int ed25519_point_valid(const uint8_t enc[32]) {
  pt p;
  return pt_decode(&p, enc);
}

int ed25519_verify(const uint8_t pk[32], const uint8_t *msg, size_t n, const uint8_t sig[64]) {
  pt a, b, ab, q;
  uint8_t h[64], k[32], r[32];
#ifndef H3LIX_TEST_NO_SCALAR_CHECK
  if (!scalar_canonical(sig + 32)) return 0;
#else
  (void)scalar_canonical; /* negative control only: the Node cross-check must then catch S + L accepted */
#endif
  if (!pt_decode(&a, pk) || !pt_decode(&b, B_ENC)) return 0;
  {
    fe zero;
    fe_set(zero, 0);
    fe_sub(a.x, zero, a.x); /* -A */
    fe_sub(a.t, zero, a.t);
  }
  sha512_t s;
  sha512_init(&s);
  sha512_update(&s, sig, 32);
  sha512_update(&s, pk, 32);
  sha512_update(&s, msg, n);
  sha512_final(&s, h);
  mod_l(k, h);
  /* Straus: one pass of 253 doublings for [S]B + [k](-A), adding B, -A or B - A per bit pair */
  pt_add(&ab, &b, &a);
  memset(&q, 0, sizeof q);
  fe_set(q.y, 1);
  fe_set(q.z, 1); /* the neutral element (0 : 1 : 1 : 0) */
  for (int i = 252; i >= 0; i--) {
    pt_double(&q, &q);
    int sb = bit(sig + 32, i), kb = bit(k, i);
    if (sb && kb) pt_add(&q, &q, &ab);
    else if (sb) pt_add(&q, &q, &b);
    else if (kb) pt_add(&q, &q, &a);
  }
  pt_encode(r, &q);
  return memcmp(r, sig, 32) == 0;
}

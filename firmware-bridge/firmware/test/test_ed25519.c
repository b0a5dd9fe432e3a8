/* cmocka tests of the firmware's SHA-512 and Ed25519 verifier: FIPS 180-4 and RFC 8032 section 7.1
 * vectors, every single-bit flip of them rejected, S >= L (malleability), non-canonical point encodings,
 * and the curve constants. The source is included so the static field code can be checked directly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "../src/ed25519.c"

static size_t unhex(const char *s, uint8_t *out) {
  size_t n = strlen(s) / 2;
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
    out[i] = (uint8_t)v;
  }
  return n;
}

static void sha512_hex(const char *msg_ascii, size_t reps, const char *want) {
  sha512_t s;
  uint8_t d[64], w[64];
  sha512_init(&s);
  for (size_t i = 0; i < reps; i++) sha512_update(&s, (const uint8_t *)msg_ascii, strlen(msg_ascii));
  sha512_final(&s, d);
  unhex(want, w);
  assert_memory_equal(d, w, 64);
}

static void test_sha512_vectors(void **st) {
  (void)st;
  sha512_hex("", 1, "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
  sha512_hex("abc", 1, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  sha512_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu", 1,
             "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909");
}

static void test_constants(void **st) {
  (void)st;
  fe t, w, one, zero;
  fe_set(one, 1);
  fe_set(zero, 0);
  fe_set(t, 121666);
  fe_mul(t, t, D);
  fe_set(w, 121665);
  fe_sub(w, zero, w);
  assert_true(fe_eq(t, w)); /* d * 121666 = -121665 */
  fe_sq(t, SQRTM1);
  fe_sub(w, zero, one);
  assert_true(fe_eq(t, w)); /* sqrt(-1)^2 = -1 */
  fe_set(t, 12345);
  fe_inv(w, t);
  fe_mul(w, w, t);
  assert_true(fe_eq(w, one));
  uint8_t b[32];
  pt p;
  assert_true(pt_decode(&p, B_ENC));
  pt_encode(b, &p);
  assert_memory_equal(b, B_ENC, 32);
  /* x of B is even (RFC 8032 5.1: B = (15112221349535400772501151409588531511454012693041857206046113283949847762202, 4/5)) */
  assert_int_equal(fe_parity(p.x), 0);
}

struct vec { const char *pk, *msg, *sig; };
/* RFC 8032 section 7.1: TEST 1, TEST 2, TEST 3, TEST SHA(abc) */
static const struct vec RFC[] = {
  {"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
   "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
  {"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
   "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
  {"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
   "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
  {"ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
   "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
   "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"},
};

static void test_rfc8032_vectors(void **st) {
  (void)st;
  for (size_t v = 0; v < sizeof RFC / sizeof RFC[0]; v++) {
    uint8_t pk[32], sig[64], msg[64];
    unhex(RFC[v].pk, pk);
    unhex(RFC[v].sig, sig);
    size_t n = unhex(RFC[v].msg, msg);
    assert_int_equal(ed25519_verify(pk, msg, n, sig), 1);
    /* every single-bit flip of the signature, a sample of the key's and every one of the message's */
    for (int i = 0; i < 512; i++) {
      sig[i / 8] ^= (uint8_t)(1u << (i % 8));
      assert_int_equal(ed25519_verify(pk, msg, n, sig), 0);
      sig[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    for (int i = 0; i < 256; i += 7) {
      pk[i / 8] ^= (uint8_t)(1u << (i % 8));
      assert_int_equal(ed25519_verify(pk, msg, n, sig), 0);
      pk[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    for (size_t i = 0; i < n * 8; i++) {
      msg[i / 8] ^= (uint8_t)(1u << (i % 8));
      assert_int_equal(ed25519_verify(pk, msg, n, sig), 0);
      msg[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    assert_int_equal(ed25519_verify(pk, msg, n, sig), 1);
  }
}

/* S + L names the same group element as S: a verifier that reduced S instead of refusing S >= L would
 * accept the twin signature (RFC 8032 5.1.7 step 1). */
static void test_malleability(void **st) {
  (void)st;
  uint8_t pk[32], sig[64];
  unhex(RFC[0].pk, pk);
  unhex(RFC[0].sig, sig);
  uint32_t carry = 0;
  for (int i = 0; i < 32; i++) {
    uint32_t v = sig[32 + i] + ((L_W[i >> 2] >> (8 * (i & 3))) & 0xffu) + carry;
    sig[32 + i] = (uint8_t)v;
    carry = v >> 8;
  }
  assert_int_equal(carry, 0);
  assert_int_equal(ed25519_verify(pk, NULL, 0, sig), 0);
  uint8_t l[32];
  for (int i = 0; i < 32; i++) l[i] = (uint8_t)(L_W[i >> 2] >> (8 * (i & 3)));
  memcpy(sig + 32, l, 32);
  assert_int_equal(ed25519_verify(pk, NULL, 0, sig), 0); /* S = L exactly */
}

static void test_noncanonical_points(void **st) {
  (void)st;
  uint8_t id[32] = {1}, id_nc[32], id_neg[32] = {1}, sig[64] = {0}, p_enc[32];
  /* y = p + 1 is the identity's y again, written non-canonically */
  memset(id_nc, 0xff, 32);
  id_nc[0] = 0xee;
  id_nc[31] = 0x7f;
  id_neg[31] = 0x80; /* x = 0 with the sign bit set */
  assert_int_equal(ed25519_point_valid(id), 1);
  assert_int_equal(ed25519_point_valid(id_nc), 0);
  assert_int_equal(ed25519_point_valid(id_neg), 0);
  memset(p_enc, 0xff, 32);
  p_enc[0] = 0xed;
  p_enc[31] = 0x7f; /* y = p exactly (= 0, non-canonical) */
  assert_int_equal(ed25519_point_valid(p_enc), 0);
  /* A = identity, S = 0: [0]B - [k]O = O, so R = encode(O) verifies for any message (the key is a
   * small-order point; RFC 8032 does not refuse it, and the fleet key is trusted, not taken from input) */
  memcpy(sig, id, 32);
  assert_int_equal(ed25519_verify(id, (const uint8_t *)"x", 1, sig), 1);
  assert_int_equal(ed25519_verify(id_nc, (const uint8_t *)"x", 1, sig), 0); /* same key, non-canonical A */
  memcpy(sig, id_nc, 32);
  assert_int_equal(ed25519_verify(id, (const uint8_t *)"x", 1, sig), 0); /* same R, non-canonical */
  memcpy(sig, id_neg, 32);
  assert_int_equal(ed25519_verify(id, (const uint8_t *)"x", 1, sig), 0);
  /* small y values that are not on the curve: u/v is no square */
  int off = 0;
  for (uint8_t y = 2; y < 40; y++) {
    uint8_t e[32] = {y};
    off += !ed25519_point_valid(e);
  }
  assert_true(off > 0 && off < 38);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sha512_vectors), cmocka_unit_test(test_constants), cmocka_unit_test(test_rfc8032_vectors),
    cmocka_unit_test(test_malleability), cmocka_unit_test(test_noncanonical_points),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

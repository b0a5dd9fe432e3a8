/* Host CLI over the firmware's own SHA-512 and Ed25519 verifier, for the cross-check against Node
 * (test/firmware-bridge/ed25519-c.test.ts). One request per stdin line, one answer per stdout line:
 *   v <pk hex 64> <sig hex 128> <msg hex>   ->  1 (valid) or 0 (rejected)
 *   h <msg hex>                            ->  SHA-512 hex
 *   p <point hex 64>                       ->  1 when it decodes to a curve point, else 0
 * A malformed line answers "e". Messages up to 4096 bytes. */
#include <stdio.h>
#include <string.h>
#include "ed25519.h"
#include "sha512.h"

static int unhex(const char *s, size_t len, uint8_t *out) {
  if (len % 2) return -1;
  for (size_t i = 0; i < len / 2; i++) {
    unsigned v;
    if (sscanf(s + 2 * i, "%2x", &v) != 1) return -1;
    out[i] = (uint8_t)v;
  }
  return (int)(len / 2);
}

static int field(char **p, uint8_t *out, size_t max) {
  while (**p == ' ') (*p)++;
  size_t len = strcspn(*p, " \n");
  if (len / 2 > max) return -1;
  int n = unhex(*p, len, out);
  *p += len;
  return n;
}

int main(void) {
  static char line[16384];
  static uint8_t msg[4096];
  uint8_t pk[32], sig[64], h[64];
  while (fgets(line, sizeof line, stdin)) {
    char *p = line + 1;
    int n;
    if (line[0] == 'v' && field(&p, pk, 32) == 32 && field(&p, sig, 64) == 64 && (n = field(&p, msg, sizeof msg)) >= 0) {
      printf("%d\n", ed25519_verify(pk, msg, (size_t)n, sig));
    } else if (line[0] == 'h' && (n = field(&p, msg, sizeof msg)) >= 0) {
      sha512_t s;
      sha512_init(&s);
      sha512_update(&s, msg, (size_t)n);
      sha512_final(&s, h);
      for (int i = 0; i < 64; i++) printf("%02x", h[i]);
      printf("\n");
    } else if (line[0] == 'p' && field(&p, pk, 32) == 32) {
      printf("%d\n", ed25519_point_valid(pk));
    } else {
      printf("e\n");
    }
    fflush(stdout);
  }
  return 0;
}

import { createHash } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'; // RFC 4648 base32, lower case

/**
 * Self-certifying node id: `n` + base32(sha256(publicKey))[0..15] (80 bits). A receiver that learns a
 * node's public key can check it against the id, so no node can claim another's id without its key.
 * The result fits the topic segment rule [A-Za-z0-9_-].
 */
export function nodeIdFromPublicKey(publicKey: Uint8Array): string {
  const h = createHash('sha256').update(publicKey).digest();
  let bits = 0;
  let acc = 0;
  let out = 'n';
  for (const byte of h) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 17) {
      out += ALPHABET[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= 17) break;
  }
  return out;
}

/** True when `nodeId` is the self-certifying id of `publicKey`. */
export function nodeIdMatches(nodeId: string, publicKey: Uint8Array): boolean {
  return nodeIdFromPublicKey(publicKey) === nodeId;
}

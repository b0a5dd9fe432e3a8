/**
 * Test-only switches that turn one defence off, so the hostile suite can show each of its cases fail
 * without the defence (a negative control). Read from `H3LIX_TEST_DEFENCES_OFF` (comma-separated
 * names below) by the composition root only; every switched-off defence is logged at `error` on start.
 * Never set it on a board.
 * `token-binding`: the fleet broker hooks take a node token under any of the node's client ids, not only the one it was minted for (broker-auth.ts).
 * `tls-client-cert`: the embedded broker's mutual TLS listener takes any client certificate (or none)
 * instead of only those the fleet CA issued and that are valid now; `tls-identity`: it lets a verified
 * certificate log in under another username than the one it names (embedded-broker.ts).
 */
export const DEFENCES = ['client-id', 'session-takeover', 'origin-sig', 'packet-limit', 'connect-timeout', 'conn-limit', 'provision-replay', 'token-expiry', 'token-binding', 'claim-revoke', 'provision-revoked', 'provision-hold', 'tls-client-cert', 'tls-identity'] as const;
export type Defence = (typeof DEFENCES)[number];

export function defencesOff(env: NodeJS.ProcessEnv = process.env): ReadonlySet<Defence> {
  const raw = env.H3LIX_TEST_DEFENCES_OFF ?? '';
  const out = new Set<Defence>();
  for (const part of raw.split(',')) {
    const name = part.trim();
    if ((DEFENCES as readonly string[]).includes(name)) out.add(name as Defence);
  }
  return out;
}

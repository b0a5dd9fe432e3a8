/**
 * Test-only switches that turn one defence off, so the hostile suite can show each of its cases fail
 * without the defence (a negative control). Read from `H3LIX_TEST_DEFENCES_OFF` (comma-separated
 * names below) by the composition root only; every switched-off defence is logged at `error` on start.
 * Never set it on a board.
 * `token-binding`: the fleet broker hooks take a node token under any of the node's client ids, not only the one it was minted for (broker-auth.ts).
 * `tls-client-cert`: the embedded broker's mutual TLS listener takes any client certificate (or none)
 * instead of only those the fleet CA issued and that are valid now; `tls-identity`: it lets a verified
 * certificate log in under another username than the one it names (embedded-broker.ts).
 * `broker-auth`: the fleet broker hooks admit credentials that do not verify as the principal the
 * username names; `node-revoke`: they let a revoked node connect, publish and keep its session;
 * `acl`: any principal may publish and subscribe anywhere; `payload-limit`: no payload size check
 * (broker-auth.ts). `connect-timeout`: a socket that never sends CONNECT is never closed
 * (embedded-broker.ts). `envelope-sig`: sync accepts envelopes whose signature does not verify;
 * `replay-guard`: sync accepts a replayed envelope (ccf-sync.ts). `cert-sig`: the certificate resolver
 * learns certificates not signed by the fleet (cert-resolver.ts). `command-sig`, `command-recipient`,
 * `command-expiry`, `command-replay`: the command router's checks (commands.ts). `claim-expiry`,
 * `claim-uses`, `claim-sig`, `claim-fleet-sig`: the provisioner's claim checks (provisioner-rules.ts).
 * `sender-topic`: sync accepts an envelope whose sender is not the node its topic names (ccf-sync.ts).
 * `revocation-seq`, `revocation-sig`: a revocation list older than the one held, or not signed by the
 * fleet, replaces it (revocation.ts).
 */
export const DEFENCES = [
  'client-id',
  'session-takeover',
  'origin-sig',
  'packet-limit',
  'connect-timeout',
  'conn-limit',
  'provision-replay',
  'token-expiry',
  'token-binding',
  'claim-revoke',
  'provision-revoked',
  'provision-hold',
  'tls-client-cert',
  'tls-identity',
  'broker-auth',
  'node-revoke',
  'acl',
  'payload-limit',
  'envelope-sig',
  'replay-guard',
  'cert-sig',
  'command-sig',
  'command-recipient',
  'command-expiry',
  'command-replay',
  'claim-expiry',
  'claim-uses',
  'claim-sig',
  'claim-fleet-sig',
  'sender-topic',
  'revocation-seq',
  'revocation-sig',
] as const;
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

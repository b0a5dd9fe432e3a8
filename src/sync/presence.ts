import { z } from 'zod';
import { WireError } from '../errors.js';

/**
 * Birth and death on `state/<node>` (DESIGN section 7), QoS 1, retained. JSON rather than a signed
 * envelope: the will (death) is fixed at connect time and must stay valid across reconnects, and the
 * birth is what a peer learns our public key from. Trust does not come from a signature here but
 * from the self-certifying node id (src/crypto/node-id.ts): a receiver accepts a key only when
 * `nodeIdMatches(node, publicKey)`. Every CCF message stays signed.
 */
export interface Presence {
  v: 1;
  online: boolean;
  node: string;
  fleet: string;
  /** Wall-clock ms when generated. */
  ts: number;
  board?: string | undefined;
  /** Energy mode (`surplus` | `normal` | `conserve` | `survival`), when the energy feature runs. */
  energyMode?: string | undefined;
  /** Ed25519 public key, base64. */
  publicKey?: string | undefined;
  /** Fleet certificate, base64, when provisioned (section 8). */
  certificate?: string | undefined;
  /** Version vector summary: origin count, sum of versions, and the state digest (hex). */
  versions?: { origins: number; total: number; digest: string } | undefined;
}

/** Largest state payload accepted (a certificate included). */
export const MAX_PRESENCE_BYTES = 16 * 1024;

const presenceSchema = z
  .object({
    v: z.literal(1),
    online: z.boolean(),
    node: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    fleet: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    ts: z.number().finite(),
    board: z.string().max(128).optional(),
    energyMode: z.string().max(32).optional(),
    publicKey: z.string().max(128).optional(),
    certificate: z.string().max(12 * 1024).optional(),
    versions: z.object({ origins: z.number().int().min(0), total: z.number().min(0), digest: z.string().max(256) }).optional(),
  })
  .loose();

export function encodePresence(p: Presence): Buffer {
  return Buffer.from(JSON.stringify(p));
}

/** Decode and validate a state payload; throws WireError naming what was wrong. */
export function decodePresence(bytes: Uint8Array): Presence {
  if (bytes.length > MAX_PRESENCE_BYTES) throw new WireError('WIRE_OVERSIZE', `state payload of ${bytes.length} bytes exceeds ${MAX_PRESENCE_BYTES}`);
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new WireError('WIRE_MALFORMED', 'state payload is not JSON');
  }
  const r = presenceSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const code = issue.path[0] === 'v' ? 'WIRE_VERSION' : 'WIRE_TYPE';
    throw new WireError(code, `state payload: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return r.data as Presence;
}

/** Decode a base64 public key from a presence; undefined when absent or not 32 bytes. */
export function presenceKey(p: Presence): Uint8Array | undefined {
  if (!p.publicKey) return undefined;
  const b = Buffer.from(p.publicKey, 'base64');
  return b.length === 32 ? new Uint8Array(b) : undefined;
}

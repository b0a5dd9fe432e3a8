import { WireError } from '../errors.js';
import { verify, type Signer } from '../crypto/ed25519.js';
import { cborDecodeMap, cborEncode, field, SEGMENT, type CborMap } from './codec.js';

/**
 * Signed fleet messages (provisioning, commands, replies): the CBOR map
 * `{v: 1, kind, fleet, from, seq, ts, body, sig}` with `sig` = Ed25519 over the CBOR array
 * `[v, kind, fleet, from, seq, ts, body]` (DESIGN section 7 envelope fields, with `ts` wall ms in the
 * place of the CCF's HLC: fleet messages carry no field state). `body` is itself CBOR bytes.
 */
export type FleetMessageKind = 'provision-request' | 'provision-response' | 'cmd' | 'reply';

export interface FleetMessage {
  kind: FleetMessageKind;
  fleet: string;
  /** Sender: a node id, a claim request id, or `fleet` for the fleet key. */
  from: string;
  seq: number;
  ts: number;
  body: CborMap;
}

const KINDS = new Set<string>(['provision-request', 'provision-response', 'cmd', 'reply']);

/** Largest fleet message accepted (a provisioning response with config and sealed secrets fits easily). */
export const MAX_FLEET_MESSAGE_BYTES = 16 * 1024;

function signedPart(kind: string, fleet: string, from: string, seq: number, ts: number, body: Uint8Array): Uint8Array {
  return cborEncode([1, kind, fleet, from, seq, ts, body]);
}

export function encodeFleetMessage(msg: FleetMessage, signer: Signer): Uint8Array {
  const body = cborEncode(msg.body);
  const sig = signer.sign(signedPart(msg.kind, msg.fleet, msg.from, msg.seq, msg.ts, body));
  return cborEncode({ v: 1, kind: msg.kind, fleet: msg.fleet, from: msg.from, seq: msg.seq, ts: msg.ts, body, sig });
}

export interface DecodeFleetMessageOptions {
  fleet: string;
  kinds: FleetMessageKind[];
  /**
   * The public key to check the signature with, given the unverified message (so a provisioning request
   * can name its own key, which the caller then binds to the node id). Undefined: unknown sender.
   */
  resolveKey: (from: string, kind: FleetMessageKind, body: CborMap) => Uint8Array | undefined;
  maxBytes?: number;
}

/** Decode and verify; throws WireError naming the failed check. */
export function decodeFleetMessage(bytes: Uint8Array, opts: DecodeFleetMessageOptions): FleetMessage {
  const w = 'fleet message';
  const m = cborDecodeMap(bytes, opts.maxBytes ?? MAX_FLEET_MESSAGE_BYTES, w);
  if (m.v !== 1) throw new WireError('WIRE_VERSION', `${w}: unsupported version ${String(m.v).slice(0, 16)}`);
  const kind = field.str(m, 'kind', w, 32);
  if (!KINDS.has(kind) || !opts.kinds.includes(kind as FleetMessageKind)) throw new WireError('WIRE_TYPE', `${w}: unexpected kind "${kind}"`);
  const fleet = field.str(m, 'fleet', w, 64, SEGMENT);
  if (fleet !== opts.fleet) throw new WireError('WIRE_FLEET', `${w}: fleet ${fleet} is not ${opts.fleet}`);
  const from = field.str(m, 'from', w, 64, SEGMENT);
  const seq = field.int(m, 'seq', w);
  const ts = field.int(m, 'ts', w);
  const bodyBytes = field.bytes(m, 'body', w, undefined, opts.maxBytes ?? MAX_FLEET_MESSAGE_BYTES);
  const sig = field.bytes(m, 'sig', w, 64);
  const body = cborDecodeMap(bodyBytes, opts.maxBytes ?? MAX_FLEET_MESSAGE_BYTES, `${kind} body`);
  const key = opts.resolveKey(from, kind as FleetMessageKind, body);
  if (!key) throw new WireError('WIRE_UNKNOWN_SENDER', `${w}: no key known for sender ${from}`);
  if (!verify(key, signedPart(kind, fleet, from, seq, ts, bodyBytes), sig)) throw new WireError('WIRE_BAD_SIGNATURE', `${kind} from ${from}: signature does not verify`);
  return { kind: kind as FleetMessageKind, fleet, from, seq, ts, body };
}

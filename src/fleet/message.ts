import { WireError } from '../errors.js';
import type { Signer } from '../crypto/ed25519.js';
import { decodeEnvelope, encodeEnvelope } from '../ccf/codec/envelope.js';
import { cborDecodeMap, cborEncode, SEGMENT, type CborMap } from './codec.js';

/**
 * Fleet messages (provisioning, commands, replies) travel in the CCF signed envelope
 * (src/ccf/codec/envelope.ts, DESIGN section 7: `{v, kind, fleet, from, seq, hlc, body, sig}`), with
 * `hlc = [ts, 0]` (fleet messages carry no field state) and `body` = CBOR bytes of a map.
 */
export type FleetMessageKind = 'provision-request' | 'provision-response' | 'cmd' | 'reply';

export interface FleetMessage {
  kind: FleetMessageKind;
  fleet: string;
  /** Sender: a node id, or `fleet` for the fleet key. */
  from: string;
  seq: number;
  /** Wall ms at the sender. */
  ts: number;
  body: CborMap;
}

/** Largest fleet message accepted (a provisioning response with config and sealed secrets fits easily). */
export const MAX_FLEET_MESSAGE_BYTES = 16 * 1024;

export function encodeFleetMessage(msg: FleetMessage, signer: Signer): Uint8Array {
  return encodeEnvelope({ kind: msg.kind, fleet: msg.fleet, from: msg.from, seq: msg.seq, hlc: { wall: msg.ts, logical: 0 }, body: cborEncode(msg.body) }, signer);
}

export interface DecodeFleetMessageOptions {
  fleet: string;
  kinds: FleetMessageKind[];
  /**
   * The public key to check the signature with, given the (not yet verified) body, so a provisioning
   * request can name its own key, which the caller binds to the node id. Undefined: unknown sender.
   */
  resolveKey: (from: string, body: CborMap) => Uint8Array | undefined;
  maxBytes?: number;
  /** Test-only: accept a signature that does not verify (defences.ts `command-sig`). Default false. */
  skipSignature?: boolean;
}

/** Decode and verify (envelope checks, then the body map); throws WireError naming the failed check. */
export function decodeFleetMessage(bytes: Uint8Array, opts: DecodeFleetMessageOptions): FleetMessage {
  const maxBytes = opts.maxBytes ?? MAX_FLEET_MESSAGE_BYTES;
  let body: CborMap | undefined;
  const env = decodeEnvelope(bytes, {
    fleet: opts.fleet,
    kinds: opts.kinds,
    maxBytes,
    ...(opts.skipSignature ? { skipSignature: true } : {}),
    resolveKey: (from) => {
      // The envelope is well-formed here (decodeEnvelope checked it); peek at its body for the key.
      const outer = cborDecodeMap(bytes, maxBytes, 'envelope');
      body = cborDecodeMap(outer.body as Uint8Array, maxBytes, 'fleet message body');
      return opts.resolveKey(from, body);
    },
  });
  if (!SEGMENT.test(env.from)) throw new WireError('WIRE_TYPE', `fleet message from "${env.from.slice(0, 40)}" is not a topic segment`);
  return { kind: env.kind as FleetMessageKind, fleet: env.fleet, from: env.from, seq: env.seq, ts: env.hlc.wall, body: body ?? cborDecodeMap(env.body, maxBytes, 'fleet message body') };
}

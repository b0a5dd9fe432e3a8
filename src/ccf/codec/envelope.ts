import { WireError } from '../../errors.js';
import { verify, type Signer } from '../../crypto/ed25519.js';
import { ENVELOPE_OVERHEAD_BYTES, MAX_BODY_BYTES, isSafeIntAtLeast, nameProblem } from '../limits.js';
import type { HlcStamp } from '../types.js';
import { CborWriter, decodeCbor, isDecodedMap, type Decoded } from './cbor.js';
import type { ReplayGuard } from './replay.js';

/** Message kinds carried in an envelope (DESIGN 7 topic table). */
export type EnvelopeKind = 'delta' | 'digest' | 'want' | 'state' | 'energy' | 'cmd' | 'reply' | 'provision-request' | 'provision-response' | 'revocation' | 'chunk';
export const ENVELOPE_KINDS: readonly EnvelopeKind[] = ['delta', 'digest', 'want', 'state', 'energy', 'cmd', 'reply', 'provision-request', 'provision-response', 'revocation', 'chunk'];

/** A decoded, verified envelope. `body` is a view into the decoded bytes. */
export interface Envelope {
  v: 1;
  kind: EnvelopeKind;
  fleet: string;
  from: string;
  seq: number;
  hlc: HlcStamp;
  body: Uint8Array;
  sig: Uint8Array;
}

/** Default `maxBytes`: a full 128 KiB body plus room for the other fields. */
export const DEFAULT_MAX_ENVELOPE_BYTES = MAX_BODY_BYTES + ENVELOPE_OVERHEAD_BYTES;

type SignedFields = Omit<Envelope, 'v' | 'sig'>;

function checkFields(f: SignedFields): void {
  if (!ENVELOPE_KINDS.includes(f.kind)) throw new WireError('WIRE_TYPE', `envelope kind ${JSON.stringify(f.kind)} is not one of ${ENVELOPE_KINDS.join(', ')}`);
  const fp = nameProblem(f.fleet);
  if (fp) throw new WireError('WIRE_TYPE', `envelope fleet: ${fp}`);
  const sp = nameProblem(f.from);
  if (sp) throw new WireError('WIRE_TYPE', `envelope from: ${sp}`);
  if (!isSafeIntAtLeast(f.seq, 0)) throw new WireError('WIRE_TYPE', `envelope seq ${String(f.seq)} is not a safe integer >= 0`);
  if (!f.hlc || !isSafeIntAtLeast(f.hlc.wall, 0) || !isSafeIntAtLeast(f.hlc.logical, 0)) throw new WireError('WIRE_TYPE', 'envelope hlc must be [wall, logical], safe integers >= 0');
  if (!(f.body instanceof Uint8Array)) throw new WireError('WIRE_TYPE', 'envelope body must be a byte string');
}

/**
 * The signed bytes: canonical CBOR map {v, kind, fleet, from, seq, hlc: [wall, logical], body} in
 * exactly this key order, shortest-form heads (RFC 8949 4.2.1). The envelope is the same map with
 * `sig` (64-byte byte string) appended as the eighth entry.
 */
function writeSigned(w: CborWriter, f: SignedFields, entries: number): void {
  w.head(5, entries);
  w.text('v');
  w.int(1);
  w.text('kind');
  w.text(f.kind);
  w.text('fleet');
  w.text(f.fleet);
  w.text('from');
  w.text(f.from);
  w.text('seq');
  w.int(f.seq);
  w.text('hlc');
  w.head(4, 2);
  w.int(f.hlc.wall);
  w.int(f.hlc.logical);
  w.text('body');
  w.bytes(f.body);
}

export function signedBytes(f: SignedFields): Uint8Array {
  const w = new CborWriter(f.body.length + 128);
  writeSigned(w, f, 7);
  return w.finish();
}

function fullBytes(f: SignedFields, sig: Uint8Array): Uint8Array {
  const w = new CborWriter(f.body.length + 200);
  writeSigned(w, f, 8);
  w.text('sig');
  w.bytes(sig);
  return w.finish();
}

/** Encode and sign an envelope. Throws WIRE_TYPE for fields that a receiver would reject. */
export function encodeEnvelope(fields: SignedFields, signer: Signer): Uint8Array {
  checkFields(fields);
  const sig = signer.sign(signedBytes(fields));
  return fullBytes(fields, sig);
}

/** Options of {@link decodeEnvelope}. */
export interface DecodeEnvelopeOptions {
  /** Reject inputs longer than this before decoding. Default 131072 + 1024. */
  maxBytes?: number;
  /** Expected fleet; any other is WIRE_FLEET. Default: not checked. */
  fleet?: string;
  /** Public key (32 bytes) of a sender, or undefined when unknown (WIRE_UNKNOWN_SENDER). Required. */
  resolveKey: (from: string) => Uint8Array | undefined;
  /** Replay window; checked before and committed after the signature check. Default: none. */
  replay?: ReplayGuard;
  /** Accepted kinds; others are WIRE_TYPE. Default: all. */
  kinds?: EnvelopeKind[];
  /** Accept a signature that does not verify. Test-only (defences.ts `envelope-sig`, `command-sig`); default false. */
  skipSignature?: boolean;
}

const FIELDS = ['v', 'kind', 'fleet', 'from', 'seq', 'hlc', 'body', 'sig'];
/** The canonical `sig` entry: text "sig" (1 + 3 bytes), byte-string head 0x58 0x40, 64 bytes. */
const SIG_ENTRY_BYTES = 4 + 2 + 64;

function field(m: Record<string, Decoded>, name: string): Decoded {
  if (!Object.prototype.hasOwnProperty.call(m, name)) throw new WireError('WIRE_TYPE', `envelope is missing field ${JSON.stringify(name)}`);
  return m[name]!;
}

/**
 * Decode and verify an envelope. Checks in order: size (WIRE_OVERSIZE, before decoding), CBOR
 * (WIRE_TRUNCATED / WIRE_MALFORMED), v (WIRE_VERSION), field types and string rules (WIRE_TYPE),
 * canonical encoding (WIRE_MALFORMED), kind filter (WIRE_TYPE), fleet (WIRE_FLEET), sender key
 * (WIRE_UNKNOWN_SENDER), replay window (WIRE_REPLAY), signature (WIRE_BAD_SIGNATURE); then commits the
 * replay window. Throws nothing but WireError.
 */
export function decodeEnvelope(bytes: Uint8Array, opts: DecodeEnvelopeOptions): Envelope {
  try {
    return decodeUnsafe(bytes, opts);
  } catch (err) {
    if (err instanceof WireError) throw err;
    throw new WireError('WIRE_MALFORMED', `envelope could not be decoded: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function decodeUnsafe(bytes: Uint8Array, opts: DecodeEnvelopeOptions): Envelope {
  if (!(bytes instanceof Uint8Array)) throw new WireError('WIRE_TYPE', 'envelope must be bytes');
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_ENVELOPE_BYTES;
  if (bytes.length > maxBytes) throw new WireError('WIRE_OVERSIZE', `envelope is ${bytes.length} bytes, limit ${maxBytes}`);
  if (bytes.length === 0) throw new WireError('WIRE_TRUNCATED', 'envelope is empty');
  const m = decodeCbor(bytes, { maxDepth: 4, canonical: true });
  if (!isDecodedMap(m)) throw new WireError('WIRE_TYPE', 'envelope is not a CBOR map');
  const v = field(m, 'v');
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new WireError('WIRE_TYPE', 'envelope field v must be an integer');
  if (v !== 1) throw new WireError('WIRE_VERSION', `envelope version ${v} is not supported (expected 1)`);
  for (const k of Object.keys(m)) if (!FIELDS.includes(k)) throw new WireError('WIRE_TYPE', `envelope has unknown field ${JSON.stringify(k)}`);
  const kind = field(m, 'kind');
  const fleet = field(m, 'fleet');
  const from = field(m, 'from');
  const seq = field(m, 'seq');
  const hlc = field(m, 'hlc');
  const body = field(m, 'body');
  const sig = field(m, 'sig');
  if (typeof kind !== 'string') throw new WireError('WIRE_TYPE', 'envelope kind must be a text string');
  if (typeof fleet !== 'string') throw new WireError('WIRE_TYPE', 'envelope fleet must be a text string');
  if (typeof from !== 'string') throw new WireError('WIRE_TYPE', 'envelope from must be a text string');
  if (typeof seq !== 'number') throw new WireError('WIRE_TYPE', 'envelope seq must be an integer');
  if (!Array.isArray(hlc) || hlc.length !== 2 || typeof hlc[0] !== 'number' || typeof hlc[1] !== 'number') throw new WireError('WIRE_TYPE', 'envelope hlc must be an array [wall, logical]');
  if (!(body instanceof Uint8Array)) throw new WireError('WIRE_TYPE', 'envelope body must be a byte string');
  if (!(sig instanceof Uint8Array) || sig.length !== 64) throw new WireError('WIRE_TYPE', 'envelope sig must be a 64-byte byte string');
  const fields: SignedFields = { kind: kind as EnvelopeKind, fleet, from, seq, hlc: { wall: hlc[0], logical: hlc[1] }, body };
  checkFields(fields);
  // Canonical form: shortest heads and no floats were enforced by the decoder; the keys must be in
  // the fixed order. Then the input is exactly encodeEnvelope's output, `sig` is its last 70 bytes
  // (text "sig" + 0x58 0x40 + 64 bytes) and the signed bytes are the rest with map header 0xa7.
  const order = Object.keys(m);
  if (order.length !== FIELDS.length || order.some((k, i) => k !== FIELDS[i])) throw new WireError('WIRE_MALFORMED', `envelope is not in canonical CBOR form: keys must be in the order ${FIELDS.join(', ')}`);
  const signed = new Uint8Array(bytes.length - SIG_ENTRY_BYTES);
  signed.set(bytes.subarray(0, signed.length));
  signed[0] = 0xa7;
  if (opts.kinds && !opts.kinds.includes(fields.kind)) throw new WireError('WIRE_TYPE', `envelope kind ${fields.kind} is not accepted here (expected ${opts.kinds.join(', ')})`);
  if (opts.fleet !== undefined && fleet !== opts.fleet) throw new WireError('WIRE_FLEET', `envelope is for fleet ${JSON.stringify(fleet)}, this node is in ${JSON.stringify(opts.fleet)}`);
  const key = opts.resolveKey(from);
  if (!key) throw new WireError('WIRE_UNKNOWN_SENDER', `no public key known for sender ${JSON.stringify(from)}`);
  opts.replay?.check(from, seq);
  if (!opts.skipSignature && !verify(key, signed, sig)) throw new WireError('WIRE_BAD_SIGNATURE', `envelope signature from ${JSON.stringify(from)} does not verify`);
  opts.replay?.accept(from, seq);
  return { v: 1, ...fields, sig };
}


import { WireError } from '../errors.js';
import { verify, type Signer } from '../crypto/ed25519.js';
import { cborDecodeMap, cborEncode, field, type CborMap } from './codec.js';

/**
 * A fleet document (certificate, claim credential, revocation list, broker token) is the CBOR map
 * `{b: <CBOR bytes of the body>, s: <Ed25519 signature over b>}`. Signing the carried bytes, not a
 * re-encoding, means a verifier never has to reproduce canonical CBOR. The body's `t` names its type so
 * a signature on one kind of document can never be replayed as another.
 */
export function signDoc(type: string, body: CborMap, signer: Signer): Uint8Array {
  const b = cborEncode({ t: type, ...body });
  return cborEncode({ b, s: signer.sign(b) });
}

/** Check the signature with `publicKey` and the type; return the body map. Throws WireError. */
export function openDoc(bytes: Uint8Array, publicKey: Uint8Array, type: string, maxBytes = 8192): CborMap {
  const outer = cborDecodeMap(bytes, maxBytes, type);
  const b = field.bytes(outer, 'b', type, undefined, maxBytes);
  const s = field.bytes(outer, 's', type, 64);
  if (!verify(publicKey, b, s)) throw new WireError('WIRE_BAD_SIGNATURE', `${type}: signature does not verify`);
  const body = cborDecodeMap(b, maxBytes, type);
  if (body.t !== type) throw new WireError('WIRE_TYPE', `${type}: document type is "${String(body.t).slice(0, 32)}"`);
  return body;
}

/** Read the body without checking the signature (only to find which key to check it with). */
export function peekDoc(bytes: Uint8Array, type: string, maxBytes = 8192): CborMap {
  const outer = cborDecodeMap(bytes, maxBytes, type);
  const body = cborDecodeMap(field.bytes(outer, 'b', type, undefined, maxBytes), maxBytes, type);
  if (body.t !== type) throw new WireError('WIRE_TYPE', `${type}: document type is "${String(body.t).slice(0, 32)}"`);
  return body;
}

import t, { type Test } from 'tap';
import nacl from 'tweetnacl';
import { createSigner, generateKeyPair, type Signer } from '../../src/crypto/ed25519.js';
import { CborWriter, encodeCbor, cborMap, type CborValue } from '../../src/ccf/codec/cbor.js';
import { DEFAULT_MAX_ENVELOPE_BYTES, decodeEnvelope, encodeEnvelope, signedBytes, type Envelope } from '../../src/ccf/codec/envelope.js';
import { ReplayGuard } from '../../src/ccf/codec/replay.js';
import { WireError } from '../../src/errors.js';

const pair = generateKeyPair();
const signer = createSigner(pair);
const base = { kind: 'delta' as const, fleet: 'fleet1', from: 'nabc', seq: 7, hlc: { wall: 1_750_000_000_000, logical: 3 }, body: Uint8Array.of(1, 2, 3) };
const opts = (extra: Partial<Parameters<typeof decodeEnvelope>[1]> = {}) => ({ fleet: 'fleet1', resolveKey: (from: string) => (from === 'nabc' ? pair.publicKey : undefined), ...extra });

/** Build an arbitrary (possibly invalid) envelope map, signed over its own signed-field encoding. */
function rawEnvelope(fields: Array<[string, CborValue]>, sig?: Uint8Array): Uint8Array {
  return encodeCbor(cborMap(sig ? [...fields, ['sig', sig]] : fields));
}
function fieldsOf(f: typeof base): Array<[string, CborValue]> {
  return [
    ['v', 1],
    ['kind', f.kind],
    ['fleet', f.fleet],
    ['from', f.from],
    ['seq', f.seq],
    ['hlc', [f.hlc.wall, f.hlc.logical]],
    ['body', f.body],
  ];
}

function rejects(t: Test, bytes: Uint8Array, code: string, o = opts(), msg?: RegExp): void {
  try {
    decodeEnvelope(bytes, o);
    t.fail(`expected ${code}`);
  } catch (err) {
    t.ok(err instanceof WireError, 'a WireError');
    t.equal((err as WireError).code, code, `${code}: ${(err as Error).message}`);
    if (msg) t.match((err as Error).message, msg);
  }
}

t.test('round trip keeps every field; wire form is the canonical CBOR map', async (t) => {
  const bytes = encodeEnvelope(base, signer);
  const env = decodeEnvelope(bytes, opts());
  t.same({ ...env, body: [...env.body], sig: env.sig.length }, { v: 1, ...base, body: [1, 2, 3], sig: 64 });
  t.equal(bytes[0], 0xa8, 'map of 8');
  t.same(bytes.subarray(1, 3), Uint8Array.of(0x61, 0x76), 'first key "v"');
  t.ok(bytes.length - base.body.length <= 140, `overhead ${bytes.length - base.body.length} bytes`);
  for (const kind of ['digest', 'want', 'state', 'energy', 'cmd', 'reply', 'provision-request', 'provision-response', 'revocation', 'chunk'] as const) {
    t.equal(decodeEnvelope(encodeEnvelope({ ...base, kind }, signer), opts()).kind, kind);
  }
});

t.test('Ed25519 cross-check with tweetnacl, both directions', async (t) => {
  const naclPair = nacl.sign.keyPair.fromSeed(pair.seed);
  const naclSigner: Signer = { publicKey: naclPair.publicKey, sign: (m) => nacl.sign.detached(m, naclPair.secretKey) };
  const byNacl = encodeEnvelope(base, naclSigner);
  t.same(Buffer.from(byNacl), Buffer.from(encodeEnvelope(base, signer)), 'identical bytes (Ed25519 is deterministic)');
  const env = decodeEnvelope(byNacl, opts());
  t.equal(env.seq, 7, 'ours verifies a tweetnacl signature');
  const ours = decodeEnvelope(encodeEnvelope({ ...base, seq: 8 }, signer), opts());
  t.ok(nacl.sign.detached.verify(signedBytes(ours), ours.sig, pair.publicKey), 'tweetnacl verifies ours over the signed bytes');
  const other = nacl.sign.keyPair();
  const forged = encodeEnvelope(base, { publicKey: other.publicKey, sign: (m) => nacl.sign.detached(m, other.secretKey) });
  rejects(t, forged, 'WIRE_BAD_SIGNATURE');
});

t.test('WIRE_OVERSIZE: length is checked before decoding', async (t) => {
  const big = new Uint8Array(DEFAULT_MAX_ENVELOPE_BYTES + 1).fill(0xff); // not even CBOR
  rejects(t, big, 'WIRE_OVERSIZE', opts(), /limit 132096/);
  rejects(t, encodeEnvelope(base, signer), 'WIRE_OVERSIZE', opts({ maxBytes: 50 }));
  const full = encodeEnvelope({ ...base, body: new Uint8Array(131072) }, signer);
  t.equal(decodeEnvelope(full, opts()).body.length, 131072, 'a full 128 KiB body fits the default');
});

t.test('WIRE_MALFORMED: not CBOR, trailing bytes, non-canonical', async (t) => {
  rejects(t, Uint8Array.of(0xff), 'WIRE_MALFORMED');
  rejects(t, Uint8Array.of(0x1c), 'WIRE_MALFORMED', opts(), /reserved/);
  rejects(t, Uint8Array.of(0xc1, 0x00), 'WIRE_MALFORMED', opts(), /tag/);
  const good = encodeEnvelope(base, signer);
  rejects(t, Uint8Array.from([...good, 0x00]), 'WIRE_MALFORMED', opts(), /trailing/);
  // same fields, different key order: not canonical
  const env = decodeEnvelope(good, opts({ fleet: undefined }));
  const reordered = rawEnvelope([...fieldsOf(base).reverse()], env.sig);
  rejects(t, reordered, 'WIRE_MALFORMED', opts(), /canonical/);
  // non-shortest integer head for seq (0x18 0x07 instead of 0x07)
  const w = new CborWriter();
  w.head(5, 8);
  for (const [k, v] of fieldsOf(base)) {
    w.text(k);
    if (k === 'seq') w.raw(Uint8Array.of(0x18, 0x07));
    else w.value(v);
  }
  w.text('sig');
  w.bytes(env.sig);
  rejects(t, w.finish(), 'WIRE_MALFORMED', opts(), /canonical/);
  const longMap = Uint8Array.from([0xb8, 0x08, ...good.subarray(1)]);
  rejects(t, longMap, 'WIRE_MALFORMED', opts(), /shortest form/);
  const w2 = new CborWriter();
  w2.head(5, 8);
  for (const [k, v] of fieldsOf(base)) {
    w2.text(k);
    if (k === 'seq') w2.float64(7);
    else w2.value(v);
  }
  w2.text('sig');
  w2.bytes(env.sig);
  rejects(t, w2.finish(), 'WIRE_TYPE', opts(), /float/);
  rejects(t, rawEnvelope([['v', 1], ['v', 1]]), 'WIRE_MALFORMED', opts(), /duplicate/);
  rejects(t, Uint8Array.of(0xa1, 0x01, 0x01), 'WIRE_MALFORMED', opts(), /not a text string/);
  rejects(t, Uint8Array.of(0x62, 0xc3, 0x28), 'WIRE_MALFORMED', opts(), /UTF-8/);
  rejects(t, Uint8Array.of(0x5f), 'WIRE_MALFORMED', opts(), /indefinite/);
});

t.test('WIRE_TRUNCATED: every proper prefix of a valid envelope', async (t) => {
  const good = encodeEnvelope(base, signer);
  const codes = new Set<string>();
  for (let n = 0; n < good.length; n++) {
    try {
      decodeEnvelope(good.subarray(0, n), opts());
      t.fail(`prefix ${n} accepted`);
    } catch (err) {
      codes.add((err as WireError).code);
    }
  }
  t.same([...codes], ['WIRE_TRUNCATED'], 'all prefixes are reported as truncated');
});

t.test('WIRE_TYPE: wrong types, missing fields, bad strings, unknown kind', async (t) => {
  const sig = new Uint8Array(64);
  const swap = (name: string, value: CborValue) => rawEnvelope(fieldsOf(base).map(([k, v]) => [k, k === name ? value : v]), sig);
  const drop = (name: string) => rawEnvelope(fieldsOf(base).filter(([k]) => k !== name), sig);
  rejects(t, encodeCbor([1, 2]), 'WIRE_TYPE', opts(), /not a CBOR map/);
  rejects(t, drop('body'), 'WIRE_TYPE', opts(), /missing field "body"/);
  rejects(t, rawEnvelope(fieldsOf(base)), 'WIRE_TYPE', opts(), /missing field "sig"/);
  rejects(t, drop('v'), 'WIRE_TYPE', opts(), /missing field "v"/);
  rejects(t, swap('v', 'one'), 'WIRE_TYPE', opts(), /v must be an integer/);
  rejects(t, swap('kind', 'gossip'), 'WIRE_TYPE', opts(), /kind "gossip"/);
  rejects(t, swap('kind', 5), 'WIRE_TYPE', opts(), /kind must be a text/);
  rejects(t, swap('fleet', 'a/b'), 'WIRE_TYPE', opts(), /fleet: contains forbidden character "\/"/);
  rejects(t, swap('fleet', ''), 'WIRE_TYPE', opts(), /fleet: length 0/);
  rejects(t, swap('from', 'x'.repeat(129)), 'WIRE_TYPE', opts(), /from: length 129/);
  rejects(t, swap('from', 'a+b'), 'WIRE_TYPE', opts());
  rejects(t, swap('from', 'a#'), 'WIRE_TYPE', opts());
  rejects(t, swap('from', 'a\u0000'), 'WIRE_TYPE', opts());
  rejects(t, swap('seq', -1), 'WIRE_TYPE', opts(), /seq -1/);
  rejects(t, swap('seq', 1.5), 'WIRE_TYPE', opts(), /float/);
  rejects(t, swap('seq', 7.0000001), 'WIRE_TYPE', opts(), /float/);
  rejects(t, swap('seq', 'x'), 'WIRE_TYPE', opts(), /seq must be an integer/);
  rejects(t, swap('hlc', [1]), 'WIRE_TYPE', opts(), /hlc/);
  rejects(t, swap('hlc', { entries: [['wall', 1]] }), 'WIRE_TYPE', opts(), /hlc/);
  rejects(t, swap('hlc', [-1, 0]), 'WIRE_TYPE', opts(), /hlc/);
  rejects(t, swap('body', 'text'), 'WIRE_TYPE', opts(), /body must be a byte string/);
  rejects(t, rawEnvelope(fieldsOf(base), new Uint8Array(63)), 'WIRE_TYPE', opts(), /64-byte/);
  rejects(t, rawEnvelope([...fieldsOf(base), ['extra', 1]], sig), 'WIRE_TYPE', opts(), /unknown field "extra"/);
  rejects(t, encodeCbor(cborMap([['v', 1.5]])), 'WIRE_TYPE', opts(), /float/);
  rejects(t, encodeCbor(cborMap([['v', true]])), 'WIRE_TYPE', opts(), /v must be an integer/);
  rejects(t, Uint8Array.of(0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), 'WIRE_TYPE', opts(), /2\^53/);
  rejects(t, encodeEnvelope({ ...base, kind: 'cmd' }, signer), 'WIRE_TYPE', opts({ kinds: ['delta', 'digest'] }), /not accepted here/);
  t.throws(() => encodeEnvelope({ ...base, from: 'a/b' }, signer), { code: 'WIRE_TYPE' }, 'the encoder refuses what receivers would reject');
  t.throws(() => decodeEnvelope('nope' as unknown as Uint8Array, opts()), { code: 'WIRE_TYPE' });
});

t.test('WIRE_VERSION', async (t) => {
  rejects(t, rawEnvelope([['v', 2], ...fieldsOf(base).slice(1)], new Uint8Array(64)), 'WIRE_VERSION', opts(), /version 2/);
  rejects(t, encodeCbor(cborMap([['v', 3], ['future', 'anything']])), 'WIRE_VERSION', opts(), /version 3/);
});

t.test('WIRE_FLEET, WIRE_UNKNOWN_SENDER, WIRE_BAD_SIGNATURE', async (t) => {
  const good = encodeEnvelope(base, signer);
  rejects(t, good, 'WIRE_FLEET', opts({ fleet: 'other' }), /fleet "fleet1".*"other"/);
  rejects(t, encodeEnvelope({ ...base, from: 'stranger' }, signer), 'WIRE_UNKNOWN_SENDER', opts(), /stranger/);
  const flipped = Uint8Array.from(good);
  flipped[good.length - 1]! ^= 1;
  rejects(t, flipped, 'WIRE_BAD_SIGNATURE');
  const body = Uint8Array.from(good);
  body[good.indexOf(0x43) + 1]! ^= 0xff; // a body byte (byte string of length 3 starts with 0x43)
  rejects(t, body, 'WIRE_BAD_SIGNATURE', opts(), /does not verify/);
  rejects(t, good, 'WIRE_BAD_SIGNATURE', opts({ resolveKey: () => generateKeyPair().publicKey }));
  rejects(t, good, 'WIRE_BAD_SIGNATURE', opts({ resolveKey: () => new Uint8Array(5) }), /does not verify/);
});

t.test('WIRE_REPLAY: duplicates rejected, forged messages do not advance the window', async (t) => {
  const replay = new ReplayGuard();
  const o = opts({ replay });
  const e = (seq: number) => encodeEnvelope({ ...base, seq }, signer);
  t.equal(decodeEnvelope(e(10), o).seq, 10);
  rejects(t, e(10), 'WIRE_REPLAY', o, /already accepted/);
  t.equal(decodeEnvelope(e(8), o).seq, 8, 'moderate reordering accepted');
  const forged = Uint8Array.from(e(20));
  forged[forged.length - 1]! ^= 1;
  rejects(t, forged, 'WIRE_BAD_SIGNATURE', o);
  t.equal(replay.highest('nabc'), 10, 'forgery did not advance the window');
  t.equal(decodeEnvelope(e(20), o).seq, 20, 'the genuine seq 20 is still accepted');
});

t.test('decoded envelope type is exactly Envelope', async (t) => {
  const env: Envelope = decodeEnvelope(encodeEnvelope(base, signer), opts());
  t.equal(env.v, 1);
});

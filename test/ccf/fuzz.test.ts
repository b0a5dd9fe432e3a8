import t from 'tap';
import fc from 'fast-check';
import { createSigner, generateKeyPair } from '../../src/crypto/ed25519.js';
import { cborMap, encodeCbor, type CborValue } from '../../src/ccf/codec/cbor.js';
import { decodeEnvelope, encodeEnvelope } from '../../src/ccf/codec/envelope.js';
import { decodeDeltaBody, encodeDeltaBody } from '../../src/ccf/codec/delta-body.js';
import { decodeDigestBody, decodeWantBody } from '../../src/ccf/codec/sync-bodies.js';
import { ChunkAssembler, splitPayload } from '../../src/ccf/codec/chunk.js';
import { ReplayGuard } from '../../src/ccf/codec/replay.js';
import { WireError } from '../../src/errors.js';
import { ManualClock } from '../../src/util/clock.js';
import { makeField } from './fixtures.js';

const pair = generateKeyPair();
const signer = createSigner(pair);
const opts = { fleet: 'f', resolveKey: (from: string) => (from === 'n1' ? pair.publicKey : undefined) };

/** Run `fn`; true when it returned or threw a WireError, false for anything else thrown. */
function onlyWireErrors(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    if (err instanceof WireError) return true;
    console.error('non-WireError thrown:', err);
    return false;
  }
}

function decodeAll(bytes: Uint8Array): boolean {
  const assembler = new ChunkAssembler({ clock: new ManualClock() });
  return (
    onlyWireErrors(() => decodeEnvelope(bytes, { ...opts, replay: new ReplayGuard() })) &&
    onlyWireErrors(() => decodeDeltaBody(bytes)) &&
    onlyWireErrors(() => decodeDigestBody(bytes)) &&
    onlyWireErrors(() => decodeWantBody(bytes)) &&
    onlyWireErrors(() => assembler.add('n1', bytes))
  );
}

const field = makeField('n1');
for (let i = 0; i < 6; i++) field.contributeLocal(`key${i}`, Float32Array.from({ length: 16 }, (_, d) => Math.cos(i + d)), 3);
const deltaBody = encodeDeltaBody(field.contributions(), { quantization: 'int8' });
const valid = encodeEnvelope({ kind: 'delta', fleet: 'f', from: 'n1', seq: 1, hlc: { wall: 1, logical: 0 }, body: deltaBody }, signer);
const plainValid = encodeEnvelope({ kind: 'delta', fleet: 'f', from: 'n1', seq: 2, hlc: { wall: 1, logical: 0 }, body: encodeDeltaBody(field.contributions(), { quantization: 'int8', compress: false }) }, signer);

type Mutation = { kind: 'flip'; at: number; bit: number } | { kind: 'set'; at: number; value: number } | { kind: 'cut'; at: number } | { kind: 'insert'; at: number; value: number } | { kind: 'delete'; at: number };
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
);

function mutate(src: Uint8Array, muts: Mutation[]): Uint8Array {
  let b = Array.from(src);
  for (const m of muts) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    if (m.kind === 'flip') b[at] = (b[at] ?? 0) ^ (1 << m.bit);
    else if (m.kind === 'set') b[at] = m.value;
    else if (m.kind === 'cut') b = b.slice(0, at);
    else if (m.kind === 'insert') b.splice(at, 0, m.value);
    else b.splice(at, 1);
  }
  return Uint8Array.from(b);
}

t.test('random bytes: decoders throw nothing but WireError', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), decodeAll), { numRuns: 4000 });
  t.pass('4000 random inputs');
});

t.test('mutated valid envelopes: only WireError, and every changed byte string is rejected', async (t) => {
  fc.assert(
    fc.property(fc.constantFrom(valid, plainValid), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (src, muts) => {
      const bytes = mutate(src, muts);
      if (!decodeAll(bytes)) return false;
      if (Buffer.compare(bytes, src) === 0) return true;
      try {
        decodeEnvelope(bytes, opts);
        return false; // a modified envelope must never verify
      } catch (err) {
        return err instanceof WireError;
      }
    }),
    { numRuns: 4000 },
  );
  t.pass('4000 mutated envelopes');
});

t.test('mutated bodies: delta/digest/want/chunk decoders throw only WireError', async (t) => {
  const chunks = splitPayload(valid, 256);
  fc.assert(
    fc.property(fc.constantFrom(deltaBody, chunks[0]!, chunks[1]!, encodeDeltaBody(field.contributions(), { quantization: 'int8', compress: false })), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (src, muts) => decodeAll(mutate(src, muts))),
    { numRuns: 3000 },
  );
  t.pass('3000 mutated bodies');
});

t.test('structurally valid CBOR of random shape: only WireError', async (t) => {
  const toCbor = (x: unknown): CborValue =>
    Array.isArray(x) ? x.map(toCbor) : x !== null && typeof x === 'object' ? cborMap(Object.entries(x).map(([k, y]) => [k, toCbor(y)] as const)) : (x as CborValue);
  const envelopeLike = fc.record({
    v: fc.oneof(fc.constant(1), fc.jsonValue()),
    kind: fc.oneof(fc.constantFrom('delta', 'chunk', 'want'), fc.jsonValue()),
    fleet: fc.oneof(fc.constant('f'), fc.string()),
    from: fc.oneof(fc.constant('n1'), fc.string()),
    seq: fc.oneof(fc.nat(), fc.jsonValue()),
    hlc: fc.oneof(fc.tuple(fc.nat(), fc.nat()), fc.jsonValue()),
  });
  fc.assert(
    fc.property(envelopeLike, fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ minLength: 60, maxLength: 70 }), (e, body, sig) => {
      const bytes = encodeCbor(cborMap([...Object.entries(e).map(([k, v]) => [k, toCbor(v)] as const), ['body', body], ['sig', sig]]));
      return decodeAll(bytes);
    }),
    { numRuns: 2000 },
  );
  fc.assert(fc.property(fc.jsonValue({ maxDepth: 6 }), (j) => decodeAll(encodeCbor(toCbor(j)))), { numRuns: 1000 });
  t.pass();
});

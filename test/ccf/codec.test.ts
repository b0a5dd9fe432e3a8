import t from 'tap';
import fc from 'fast-check';
import { deflateRawSync } from 'node:zlib';
import { CborWriter, Float32Value, cborMap, decodeCbor, encodeCbor } from '../../src/ccf/codec/cbor.js';
import { DELTA_FLAG_DEFLATE, DELTA_FLAG_PLAIN, decodeDeltaBody, encodeDeltaBody } from '../../src/ccf/codec/delta-body.js';
import { decodeDigestBody, decodeWantBody, encodeDigestBody, encodeWantBody } from '../../src/ccf/codec/sync-bodies.js';
import { canonicalVector } from '../../src/ccf/quantize.js';
import { digestOfOrigins } from '../../src/ccf/field.js';
import type { Contribution } from '../../src/ccf/types.js';
import { contribution, contributionArb, makeField } from './fixtures.js';

const bits = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex');

t.test('CBOR: shortest heads and round trips', async (t) => {
  t.same(encodeCbor(0), Uint8Array.of(0x00));
  t.same(encodeCbor(23), Uint8Array.of(0x17));
  t.same(encodeCbor(24), Uint8Array.of(0x18, 24));
  t.same(encodeCbor(256), Uint8Array.of(0x19, 1, 0));
  t.same(encodeCbor(65536), Uint8Array.of(0x1a, 0, 1, 0, 0));
  t.same(encodeCbor(2 ** 32), Uint8Array.of(0x1b, 0, 0, 0, 1, 0, 0, 0, 0));
  t.same(encodeCbor(-1), Uint8Array.of(0x20));
  t.same(encodeCbor(1.5), Uint8Array.of(0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0));
  t.same(encodeCbor(new Float32Value(1.5)), Uint8Array.of(0xfa, 0x3f, 0xc0, 0, 0));
  t.same(encodeCbor([true, false, null]), Uint8Array.of(0x83, 0xf5, 0xf4, 0xf6));
  t.same(decodeCbor(Uint8Array.of(0xf9, 0x3c, 0x00)), 1, 'half float');
  const v = decodeCbor(encodeCbor(cborMap([['a', [1, -2, 'x', Uint8Array.of(9)]], ['b', Number.MAX_SAFE_INTEGER]])));
  t.same(JSON.parse(JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? [...x] : x))), { a: [1, -2, 'x', [9]], b: Number.MAX_SAFE_INTEGER });
  t.throws(() => new CborWriter().int(2 ** 53), { code: 'WIRE_TYPE' });
  t.throws(() => decodeCbor(Uint8Array.of(0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x80)), { code: 'WIRE_MALFORMED' }, 'nesting bound');
  t.throws(() => decodeCbor(Uint8Array.of(0xf7)), { code: 'WIRE_MALFORMED' }, 'undefined is not supported');
  t.throws(() => decodeCbor(Uint8Array.of(0x9a, 0xff, 0xff, 0xff, 0xff)), { code: 'WIRE_TRUNCATED' }, 'huge array count on a short buffer');
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 4 }), (j) => {
      const toCbor = (x: unknown): import('../../src/ccf/codec/cbor.js').CborValue =>
        Array.isArray(x) ? x.map(toCbor) : x !== null && typeof x === 'object' ? cborMap(Object.entries(x).map(([k, y]) => [k, toCbor(y)] as const)) : typeof x === 'number' && Object.is(x, -0) ? 0 : (x as number | string | boolean | null);
      const norm = (x: unknown): unknown => (Array.isArray(x) ? x.map(norm) : x !== null && typeof x === 'object' ? Object.fromEntries(Object.entries(x).map(([k, y]) => [k, norm(y)])) : Object.is(x, -0) ? 0 : x);
      return JSON.stringify(norm(decodeCbor(encodeCbor(toCbor(j)), { maxDepth: 8 }))) === JSON.stringify(norm(j));
    }),
    { numRuns: 500 },
  );
});

t.test('delta body round trip is lossless for canonical contributions (fast-check)', async (t) => {
  fc.assert(
    fc.property(fc.array(contributionArb, { maxLength: 20 }), fc.constantFrom('int8' as const, 'float16' as const), fc.boolean(), (cs, q, canon) => {
      const input: Contribution[] = cs.map((c) => ({ ...c, sum: canon ? canonicalVector(c.sum, q) : c.sum, count: Math.fround(c.count) }));
      const out = decodeDeltaBody(encodeDeltaBody(input, { quantization: q }));
      if (out.length !== input.length) return false;
      return out.every((c, i) => {
        const a = input[i]!;
        const normalized = Float32Array.from(a.sum, (x) => x + 0);
        return c.origin === a.origin && c.key === a.key && c.version === a.version && c.hlc.wall === a.hlc.wall && c.hlc.logical === a.hlc.logical && Object.is(c.count, a.count + 0) && bits(c.sum) === bits(normalized);
      });
    }),
    { numRuns: 500 },
  );
  t.pass();
});

t.test('relays re-encode byte-identically and nodes reach byte-identical digests', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.float32Array({ minLength: 8, maxLength: 8, noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 8 }), fc.constantFrom('int8' as const, 'float16' as const), (vecs, q) => {
      const origin = makeField('origin', { quantization: q });
      vecs.forEach((v, i) => origin.contributeLocal(`k${i}`, v, 1 + i / 3));
      const b1 = encodeDeltaBody(origin.deltaSince({}), { quantization: q });
      const relay = makeField('relay', { quantization: q });
      relay.merge(decodeDeltaBody(b1));
      const b2 = encodeDeltaBody(relay.deltaSince({}), { quantization: q });
      const last = makeField('last', { quantization: q });
      last.merge(decodeDeltaBody(b2));
      return Buffer.compare(b1, b2) === 0 && origin.digest() === relay.digest() && relay.digest() === last.digest() && digestOfOrigins(last.contributions()) === origin.digest();
    }),
    { numRuns: 300 },
  );
  t.pass();
});

t.test('delta body: int8 for canonical int8 vectors, compression only when it shrinks', async (t) => {
  const f = makeField('origin');
  for (let i = 0; i < 32; i++) f.contributeLocal(`key-${i}`, Float32Array.from({ length: 64 }, (_, d) => Math.sin(i * 64 + d)), 10);
  const body = encodeDeltaBody(f.contributions(), { quantization: 'int8' });
  t.ok(body.length < 32 * (64 + 4 + 60), `32x64 body is ${body.length} bytes`);
  t.ok(body[0] === DELTA_FLAG_DEFLATE || body[0] === DELTA_FLAG_PLAIN);
  const one = encodeDeltaBody([contribution({ origin: 'o', key: 'k', sum: Float32Array.of(1) })], { quantization: 'int8' });
  t.equal(one[0], DELTA_FLAG_PLAIN, 'tiny body is not compressed');
  const uncompressed = encodeDeltaBody(f.contributions(), { quantization: 'int8', compress: false });
  t.equal(uncompressed[0], DELTA_FLAG_PLAIN);
  t.same(decodeDeltaBody(uncompressed).length, 32);
  // a non-quantizable vector travels as float32, losslessly
  const odd = contribution({ origin: 'o', key: 'k', sum: Float32Array.of(0.1, 1e-30, 12345.678) });
  t.same([...decodeDeltaBody(encodeDeltaBody([odd], { quantization: 'int8' }))[0]!.sum], [...odd.sum]);
  t.throws(() => encodeDeltaBody([contribution({ origin: 'o', key: 'k', sum: Float32Array.of(NaN) })], { quantization: 'int8' }), { code: 'WIRE_TYPE' });
});

function plainBody(items: unknown[][]): Uint8Array {
  const w = new CborWriter();
  w.head(4, items.length);
  for (const it of items) w.value(it as never);
  return Uint8Array.from([DELTA_FLAG_PLAIN, ...w.finish()]);
}
const goodItem = () => ['o', 'k', 1, 5, 0, new Float32Value(2), 2, new Uint8Array(new Float32Array([1, 2]).buffer)];

t.test('delta body rejections name what was wrong', async (t) => {
  t.equal(decodeDeltaBody(plainBody([goodItem()]))[0]!.sum[1], 2, 'the hand-built body is valid');
  const bad = (i: number, v: unknown) => plainBody([goodItem().map((x, j) => (j === i ? v : x))]);
  const cases: Array<[Uint8Array, string, RegExp]> = [
    [Uint8Array.of(0), 'WIRE_TRUNCATED', /1 bytes/],
    [Uint8Array.of(7, 0x80), 'WIRE_MALFORMED', /flag 0x7/],
    [Uint8Array.of(DELTA_FLAG_DEFLATE, 0x07, 0, 0), 'WIRE_MALFORMED', /deflate stream is invalid/],
    [Uint8Array.of(DELTA_FLAG_DEFLATE, 1, 2, 3), 'WIRE_TRUNCATED', /truncated/],
    [Uint8Array.from([DELTA_FLAG_PLAIN, 0xa0]), 'WIRE_TYPE', /not a CBOR array/],
    [plainBody([[1, 2]]), 'WIRE_TYPE', /8-element/],
    [bad(0, 'a/b'), 'WIRE_TYPE', /origin contains forbidden/],
    [bad(1, 'x'.repeat(129)), 'WIRE_TYPE', /key length 129/],
    [bad(1, 7), 'WIRE_TYPE', /text strings/],
    [bad(2, 0), 'WIRE_TYPE', /version 0/],
    [bad(2, 1.5), 'WIRE_TYPE', /version 1.5/],
    [bad(3, 'x'), 'WIRE_TYPE', /integers/],
    [bad(5, new Float32Value(NaN)), 'WIRE_TYPE', /count NaN/],
    [bad(5, new Float32Value(-1)), 'WIRE_TYPE', /count -1/],
    [bad(5, new Float32Value(Infinity)), 'WIRE_TYPE', /count Infinity/],
    [bad(5, 'x'), 'WIRE_TYPE', /count must be a number/],
    [bad(6, 9), 'WIRE_TYPE', /format 9/],
    [bad(7, 'x'), 'WIRE_TYPE', /format and data/],
    [bad(7, new Uint8Array(new Float32Array([1, NaN]).buffer)), 'WIRE_TYPE', /NaN or Infinity/],
    [bad(7, new Uint8Array(new Float32Array([Infinity]).buffer)), 'WIRE_TYPE', /NaN or Infinity/],
    [bad(7, new Uint8Array(6)), 'WIRE_TYPE', /multiple of 4/],
    [bad(7, new Uint8Array(4 * 4097)), 'WIRE_TYPE', /dimension 4097/],
    [bad(7, new Uint8Array(0)), 'WIRE_TYPE', /dimension 0/],
  ];
  const f16 = (data: Uint8Array) => plainBody([goodItem().map((x, j) => (j === 6 ? 1 : j === 7 ? data : x))]);
  const i8 = (data: Uint8Array) => plainBody([goodItem().map((x, j) => (j === 6 ? 0 : j === 7 ? data : x))]);
  cases.push([f16(Uint8Array.of(0x00, 0x7c)), 'WIRE_TYPE', /float16 value 0 is NaN/]);
  cases.push([f16(Uint8Array.of(1)), 'WIRE_TYPE', /odd/]);
  cases.push([f16(new Uint8Array(2 * 4097)), 'WIRE_TYPE', /dimension 4097/]);
  cases.push([i8(Uint8Array.of(0, 0, 0x40, 0x40, 1)), 'WIRE_TYPE', /scale 3 is not a power of two/]);
  cases.push([i8(Uint8Array.of(0, 0, 0x80, 0x3f)), 'WIRE_TYPE', /dimension 0/]);
  cases.push([i8(Uint8Array.of(0, 0, 0xc0, 0x7f, 1)), 'WIRE_TYPE', /scale NaN/]);
  for (const [bytes, code, re] of cases) t.throws(() => decodeDeltaBody(bytes), { code, message: re }, `${code} ${re}`);
  t.same([...decodeDeltaBody(i8(Uint8Array.of(0, 0, 0x80, 0x3f, 3, 0xfd)))[0]!.sum], [3, -3], 'int8 with scale 1');
  t.same([...decodeDeltaBody(f16(Uint8Array.of(0x00, 0x3c)))[0]!.sum], [1], 'float16 1.0');
  t.throws(() => decodeDeltaBody(plainBody([goodItem(), goodItem(), goodItem()]), { maxContributions: 2 }), { code: 'WIRE_OVERSIZE' });
  t.throws(() => decodeDeltaBody(plainBody([goodItem()]), { maxDim: 1 }), { code: 'WIRE_TYPE', message: /dimension 2/ });
});

t.test('deflate bombs and truncated streams are rejected', async (t) => {
  const bomb = Uint8Array.from([DELTA_FLAG_DEFLATE, ...deflateRawSync(new Uint8Array(50 * 1024 * 1024))]);
  t.ok(bomb.length < 100_000, `bomb is ${bomb.length} bytes`);
  t.throws(() => decodeDeltaBody(bomb), { code: 'WIRE_OVERSIZE', message: /inflates beyond/ });
  const f = makeField('o');
  for (let i = 0; i < 32; i++) f.contributeLocal(`k${i}`, Float32Array.from({ length: 64 }, () => 0.5), 1);
  const body = encodeDeltaBody(f.contributions(), { quantization: 'int8' });
  t.equal(body[0], DELTA_FLAG_DEFLATE);
  t.throws(() => decodeDeltaBody(body.subarray(0, body.length - 5)), { code: 'WIRE_TRUNCATED' });
});

t.test('digest and want bodies', async (t) => {
  const f = makeField('me');
  f.contributeLocal('k', Float32Array.of(1), 1);
  f.merge([contribution({ origin: 'peer', key: 'k', version: 9 })]);
  const d = { vv: f.versionVector(), digest: f.digest(), count: f.size() };
  t.same(decodeDigestBody(encodeDigestBody(d)), d);
  t.same(decodeWantBody(encodeWantBody({ vv: { b: 2, a: 1 } })), { vv: { a: 1, b: 2 } });
  t.same(Buffer.from(encodeWantBody({ vv: { b: 2, a: 1 } })), Buffer.from(encodeWantBody({ vv: { a: 1, b: 2 } })), 'deterministic');
  t.same(decodeWantBody(encodeWantBody({ vv: {} })), { vv: {} });
  t.throws(() => encodeDigestBody({ ...d, digest: 'xyz' }), { code: 'WIRE_TYPE' });
  t.throws(() => encodeDigestBody({ ...d, count: -1 }), { code: 'WIRE_TYPE' });
  t.throws(() => encodeWantBody({ vv: { 'a/b': 1 } }), { code: 'WIRE_TYPE' });
  t.throws(() => decodeWantBody(encodeCbor(cborMap([['vv', cborMap([['a', -1]])]]))), { code: 'WIRE_TYPE', message: /vv\["a"\]/ });
  t.throws(() => decodeWantBody(encodeCbor(cborMap([['vv', cborMap([['a#', 1]])]]))), { code: 'WIRE_TYPE', message: /forbidden/ });
  t.throws(() => decodeWantBody(encodeCbor([1])), { code: 'WIRE_TYPE' });
  t.throws(() => decodeWantBody(encodeCbor(cborMap([['vv', 1]]))), { code: 'WIRE_TYPE', message: /vv must be a map/ });
  t.throws(() => decodeDigestBody(encodeCbor(cborMap([['vv', cborMap([])], ['digest', new Uint8Array(31)], ['count', 0]]))), { code: 'WIRE_TYPE', message: /32 bytes/ });
  t.throws(() => decodeDigestBody(encodeCbor(cborMap([['vv', cborMap([])], ['digest', new Uint8Array(32)], ['count', 'x']]))), { code: 'WIRE_TYPE', message: /count/ });
  t.throws(() => decodeDigestBody(encodeCbor(5)), { code: 'WIRE_TYPE' });
  t.throws(() => decodeDigestBody(Uint8Array.of(0xa1)), { code: 'WIRE_TRUNCATED' });
});

t.test('a mixed fleet (int8 and float16 nodes) still converges byte-identically', async (t) => {
  const a = makeField('a', { quantization: 'int8' });
  const b = makeField('b', { quantization: 'float16' });
  a.contributeLocal('k', Float32Array.of(0.1, -2.5, 3.75, 9.99), 2.5);
  b.contributeLocal('k', Float32Array.of(0.1, -2.5, 3.75, 9.99), 2.5);
  const relay = makeField('r', { quantization: 'float16' });
  relay.merge(decodeDeltaBody(encodeDeltaBody(a.contributions(), { quantization: 'int8' })));
  relay.merge(decodeDeltaBody(encodeDeltaBody(b.contributions(), { quantization: 'float16' })));
  const sink = makeField('s', { quantization: 'int8' });
  sink.merge(decodeDeltaBody(encodeDeltaBody(relay.contributions(), { quantization: 'float16' })));
  t.equal(sink.digest(), relay.digest());
  t.same([...sink.get('a', 'k')!.sum], [...a.get('a', 'k')!.sum], 'int8 origin value survives a float16 relay');
  t.same([...sink.get('b', 'k')!.sum], [...b.get('b', 'k')!.sum], 'float16 origin value survives an int8 node');
});

import t from 'tap';
import fc from 'fast-check';
import { halfBitsToNumber } from '../../src/ccf/codec/cbor.js';
import { canonicalCount, canonicalVector, dequantizeFloat16, dequantizeInt8, int8ScaleExponent, isCanonicalScale, isExactIn, quantizeFloat16, quantizeInt8, toHalfBits } from '../../src/ccf/quantize.js';

const vec = fc.float32Array({ minLength: 1, maxLength: 64, noNaN: true, noDefaultInfinity: true });
const bits = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex');

t.test('int8 quantization is idempotent: quantize(dequantize(q)) == q (fast-check)', async (t) => {
  fc.assert(
    fc.property(vec, (x) => {
      const q1 = quantizeInt8(x);
      const q2 = quantizeInt8(dequantizeInt8(q1));
      return q1.scale === q2.scale && Buffer.compare(Buffer.from(q1.q.buffer), Buffer.from(q2.q.buffer)) === 0 && isCanonicalScale(q1.scale);
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

t.test('float16 quantization is idempotent (fast-check)', async (t) => {
  fc.assert(
    fc.property(vec, (x) => {
      const h1 = quantizeFloat16(x);
      const h2 = quantizeFloat16(dequantizeFloat16(h1));
      return Buffer.compare(Buffer.from(h1.buffer), Buffer.from(h2.buffer)) === 0;
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

t.test('canonicalVector is a projection: canonical(canonical(x)) has identical bytes', async (t) => {
  fc.assert(
    fc.property(vec, fc.constantFrom('int8' as const, 'float16' as const), (x, q) => {
      const once = canonicalVector(x, q);
      return bits(canonicalVector(once, q)) === bits(once) && isExactIn(once, q);
    }),
    { numRuns: 1000 },
  );
  t.pass();
});

t.test('int8 error is bounded by half a quantization step', async (t) => {
  fc.assert(
    fc.property(fc.float32Array({ minLength: 1, maxLength: 64, noNaN: true, noDefaultInfinity: true, min: Math.fround(-1e30), max: Math.fround(1e30) }), (x) => {
      const { scale } = quantizeInt8(x);
      const y = canonicalVector(x, 'int8');
      return x.every((v, i) => Math.abs(v - y[i]!) <= scale / 2 + 1e-45);
    }),
    { numRuns: 1000 },
  );
  const { scale, q } = quantizeInt8(Float32Array.of(1, -0.5, 0.25, 0));
  t.equal(scale, 2 ** -6, 'smallest power of two with 1/scale <= 127');
  t.same([...q], [64, -32, 16, 0]);
  t.equal(int8ScaleExponent(127), 0);
  t.equal(int8ScaleExponent(127.5), 1);
  t.equal(int8ScaleExponent(0), 0);
  t.throws(() => quantizeInt8(Float32Array.of(1, NaN)), RangeError);
  t.throws(() => quantizeInt8(Float32Array.of(Infinity)), RangeError);
  t.notOk(isCanonicalScale(3));
  t.notOk(isCanonicalScale(0));
  t.notOk(isCanonicalScale(-2));
  t.ok(isCanonicalScale(2 ** -149));
  const huge = quantizeInt8(Float32Array.of(-3.4028234663852886e38, 3.3762393121177824e38));
  t.equal(huge.scale, 2 ** 121, 'scale capped so no value overflows float32');
  t.same([...huge.q], [-127, 127]);
  t.ok(dequantizeInt8(huge).every(Number.isFinite));
});

t.test('float16 conversion: known values, rounding, clamping, -0', async (t) => {
  t.equal(toHalfBits(1), 0x3c00);
  t.equal(toHalfBits(-2), 0xc000);
  t.equal(toHalfBits(65504), 0x7bff);
  t.equal(toHalfBits(1e6), 0x7bff, 'overflow clamps to max finite');
  t.equal(toHalfBits(-1e6), 0xfbff);
  t.equal(toHalfBits(Infinity), 0x7bff);
  t.equal(toHalfBits(-0), 0, '-0 normalized');
  t.equal(toHalfBits(2 ** -24), 1, 'smallest subnormal');
  t.equal(toHalfBits(2 ** -26), 0, 'underflow to zero');
  t.equal(toHalfBits(1 + 2 ** -11), 0x3c00, 'tie rounds to even (down)');
  t.equal(toHalfBits(1 + 3 * 2 ** -11), 0x3c02, 'tie rounds to even (up)');
  t.equal(halfBitsToNumber(0x3555), 0.333251953125);
  t.ok(Number.isNaN(halfBitsToNumber(0x7e00)));
  t.equal(halfBitsToNumber(0xfc00), -Infinity);
  // every finite half value round-trips exactly
  for (let h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) === 0x7c00 || h === 0x8000) continue;
    if (toHalfBits(halfBitsToNumber(h)) !== h) {
      t.fail(`half 0x${h.toString(16)} does not round-trip`);
      return;
    }
  }
  t.pass('all 63486 finite non-negative-zero half values round-trip');
});

t.test('counts are float32-canonical', async (t) => {
  t.equal(canonicalCount(0.1), Math.fround(0.1));
  t.ok(Object.is(canonicalCount(-0), 0));
  t.equal(canonicalCount(canonicalCount(3.3)), canonicalCount(3.3));
});

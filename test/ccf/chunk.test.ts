import t from 'tap';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { ChunkAssembler, decodeChunkBody, splitPayload } from '../../src/ccf/codec/chunk.js';
import { CborWriter } from '../../src/ccf/codec/cbor.js';
import { createSigner, generateKeyPair } from '../../src/crypto/ed25519.js';
import { decodeEnvelope, encodeEnvelope } from '../../src/ccf/codec/envelope.js';
import { ManualClock } from '../../src/util/clock.js';

t.test('split + assemble round trip in any order with duplicates (fast-check)', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 5000 }), fc.integer({ min: 128, max: 1500 }), fc.array(fc.nat()), (payload, max, shuffle) => {
      const chunks = splitPayload(payload, max);
      if (!chunks.every((c) => c.length <= max)) return false;
      const order = chunks.map((c, i) => [c, shuffle[i] ?? i] as const).sort((a, b) => a[1] - b[1]).map(([c]) => c);
      const asm = new ChunkAssembler({ clock: new ManualClock() });
      let out: Uint8Array | undefined;
      let completions = 0;
      for (const c of [...order, order[0]!]) {
        const r = asm.add('n1', c);
        if (r) {
          out = r;
          completions++;
        }
      }
      return completions === 1 && out !== undefined && Buffer.compare(out, payload) === 0 && asm.bufferedBytes() <= max;
    }),
    { numRuns: 300 },
  );
  t.pass();
});

t.test('a 300 KiB signed envelope travels as signed chunk envelopes', async (t) => {
  const pair = generateKeyPair();
  const signer = createSigner(pair);
  const resolveKey = () => pair.publicKey;
  const inner = encodeEnvelope({ kind: 'delta', fleet: 'f', from: 'n1', seq: 100, hlc: { wall: 1, logical: 0 }, body: randomBytes(300 * 1024) }, signer);
  const bodies = splitPayload(inner, 128 * 1024);
  t.equal(bodies.length, 3);
  const asm = new ChunkAssembler({ clock: new ManualClock() });
  let full: Uint8Array | undefined;
  bodies.forEach((body, i) => {
    const wire = encodeEnvelope({ kind: 'chunk', fleet: 'f', from: 'n1', seq: 101 + i, hlc: { wall: 1, logical: i }, body }, signer);
    t.ok(wire.length <= 128 * 1024 + 1024, 'each chunk envelope fits the default limit');
    const env = decodeEnvelope(wire, { resolveKey, kinds: ['chunk'] });
    full = asm.add(env.from, env.body) ?? full;
  });
  const env = decodeEnvelope(full!, { resolveKey, maxBytes: 4 * 1024 * 1024 });
  t.equal(env.body.length, 300 * 1024);
  t.equal(env.seq, 100);
});

t.test('timeouts, memory bounds and eviction', async (t) => {
  const clock = new ManualClock();
  const asm = new ChunkAssembler({ clock, timeoutMs: 1000, maxPending: 2, maxBufferedBytes: 3000, maxPayloadBytes: 10_000 });
  const a = splitPayload(randomBytes(2000), 600);
  asm.add('n1', a[0]!);
  t.equal(asm.pendingCount(), 1);
  clock.advance(1001);
  asm.purge();
  t.equal(asm.pendingCount(), 0, 'incomplete payload dropped after the timeout');
  t.equal(asm.bufferedBytes(), 0);
  t.equal(asm.dropped, 1);
  // maxPending: a third payload evicts the oldest
  const p = [randomBytes(1000), randomBytes(1000), randomBytes(1000)].map((x) => splitPayload(x, 600));
  asm.add('n1', p[0]![0]!);
  clock.advance(1);
  asm.add('n1', p[1]![0]!);
  clock.advance(1);
  asm.add('n1', p[2]![0]!);
  t.equal(asm.pendingCount(), 2);
  t.equal(asm.add('n1', p[0]![1]!), undefined, 'evicted payload restarts, cannot complete');
  t.ok(asm.bufferedBytes() <= 3000);
  // the buffered-bytes bound
  const big = new ChunkAssembler({ clock, maxBufferedBytes: 1500, maxPayloadBytes: 100_000 });
  const x = splitPayload(randomBytes(4000), 1000);
  big.add('n1', x[0]!);
  t.throws(() => big.add('n1', x[1]!), { code: 'WIRE_OVERSIZE', message: /buffer limit/ });
  t.ok(big.bufferedBytes() <= 1500);
  t.throws(() => asm.add('n1', splitPayload(randomBytes(20_000), 5000)[0]!), { code: 'WIRE_OVERSIZE', message: /exceeds 10000/ });
});

t.test('one flooding sender evicts only its own partial payloads', async (t) => {
  const clock = new ManualClock();
  const asm = new ChunkAssembler({ clock, maxPending: 16, maxPendingPerSender: 2 });
  const victim = splitPayload(randomBytes(1000), 600);
  asm.add('victim', victim[0]!);
  for (let i = 0; i < 10; i++) {
    clock.advance(1);
    asm.add('flood', splitPayload(randomBytes(1000), 600)[0]!);
  }
  t.equal(asm.pendingCount(), 3, 'victim 1 + flooder capped at 2');
  t.same(asm.add('victim', victim[1]!)?.length, 1000, "the victim's payload still completes");
});

function chunkBody(id: Uint8Array, index: number, total: number, size: number, data: Uint8Array): Uint8Array {
  const w = new CborWriter();
  w.head(4, 5);
  w.bytes(id);
  w.int(index);
  w.int(total);
  w.int(size);
  w.bytes(data);
  return w.finish();
}

t.test('bad chunks are WIRE_CHUNK with a reason', async (t) => {
  const asm = new ChunkAssembler({ clock: new ManualClock() });
  const id = new Uint8Array(16);
  t.throws(() => asm.add('n', chunkBody(new Uint8Array(3), 0, 1, 1, Uint8Array.of(1))), { code: 'WIRE_CHUNK', message: /16 bytes/ });
  t.throws(() => asm.add('n', chunkBody(id, 2, 2, 4, Uint8Array.of(1))), { code: 'WIRE_CHUNK', message: /index 2/ });
  t.throws(() => asm.add('n', chunkBody(id, 0, 0, 4, Uint8Array.of(1))), { code: 'WIRE_CHUNK', message: /total 0/ });
  t.throws(() => asm.add('n', chunkBody(id, 0, 1, 0, Uint8Array.of(1))), { code: 'WIRE_CHUNK', message: /exceeds the payload size/ });
  t.throws(() => asm.add('n', chunkBody(id, 0, 1, 1, Uint8Array.of(1))), { code: 'WIRE_CHUNK', message: /does not match its chunk id/ });
  asm.add('n', chunkBody(id, 0, 3, 10, Uint8Array.of(1)));
  t.throws(() => asm.add('n', chunkBody(id, 1, 4, 10, Uint8Array.of(1))), { code: 'WIRE_CHUNK', message: /disagrees/ });
  asm.add('n', chunkBody(id, 1, 3, 10, new Uint8Array(5)));
  t.throws(() => asm.add('n', chunkBody(id, 2, 3, 10, new Uint8Array(5))), { code: 'WIRE_CHUNK', message: /more bytes than/ });
  const short = new Uint8Array(16);
  asm.add('m', chunkBody(short, 0, 2, 10, new Uint8Array(2)));
  t.throws(() => asm.add('m', chunkBody(short, 1, 2, 10, new Uint8Array(2))), { code: 'WIRE_CHUNK', message: /reassembled 4 bytes, declared 10/ });
  t.throws(() => decodeChunkBody(Uint8Array.of(0x80)), { code: 'WIRE_CHUNK' });
  t.throws(() => asm.add('n', Uint8Array.of(0x85)), { code: 'WIRE_TRUNCATED' });
  t.throws(() => splitPayload(new Uint8Array(10), 100), RangeError);
  t.equal(splitPayload(new Uint8Array(0), 200).length, 1, 'an empty payload is one chunk');
});

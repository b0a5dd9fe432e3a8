import t from 'tap';
import { openStore } from '../../src/store/db.js';
import { Outbox, type OutboxOptions } from '../../src/store/outbox.js';
import { ManualClock } from '../../src/util/clock.js';
import { H3lixError } from '../../src/errors.js';

type TapLike = Pick<typeof t, 'teardown' | 'testdir'>;
const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

function setup(t: TapLike, opts: Partial<OutboxOptions> = {}, dir = t.testdir()) {
  const clock = new ManualClock();
  const store = openStore({ dataDir: dir, clock });
  t.teardown(() => store.close());
  return { dir, clock, store, outbox: new Outbox({ store, clock, ...opts }) };
}

const topics = (o: Outbox) => o.peek(1000).map((m) => m.topic);

t.test('FIFO ordering, peek does not remove, ack removes, afterId pages', async (t) => {
  const { outbox } = setup(t);
  const ids = ['a', 'b', 'c', 'd'].map((topic, i) => outbox.enqueue({ topic, payload: bytes(3, i), qos: 1, retain: false }));
  t.same(ids, [...ids].sort((x, y) => x - y), 'ids grow with enqueue order');
  t.same(topics(outbox), ['a', 'b', 'c', 'd']);
  t.same(topics(outbox), ['a', 'b', 'c', 'd'], 'peek is non-destructive');
  t.same(outbox.peek(2).map((m) => m.topic), ['a', 'b'], 'limit');
  t.same(outbox.peek(10, ids[1]).map((m) => m.topic), ['c', 'd'], 'afterId');
  const m = outbox.peek(1)[0]!;
  t.same([m.qos, m.retain, [...m.payload]], [1, false, [0, 0, 0]], 'fields round-trip');
  outbox.ack(ids[1]!);
  outbox.ack(ids[1]!); // duplicate ack is a no-op
  outbox.ack(9999);
  t.same(topics(outbox), ['a', 'c', 'd']);
  t.equal(outbox.ackMany([ids[0]!, ids[2]!, 12345]), 2, 'ackMany counts present ids');
  t.same(outbox.size(), { messages: 1, bytes: 3 });
  t.equal(outbox.stats().acked, 3);
});

t.test('messages survive a restart (close and reopen), ids are never reused', async (t) => {
  const dir = t.testdir();
  const a = setup(t, {}, dir);
  const id1 = a.outbox.enqueue({ topic: 'x/1', payload: bytes(5), qos: 1, retain: true, coalesceKey: 'digest' });
  const id2 = a.outbox.enqueue({ topic: 'x/2', payload: bytes(7), qos: 0, retain: false });
  a.outbox.ack(id2);
  a.store.close();
  const b = setup(t, {}, dir);
  t.same(b.outbox.size(), { messages: 1, bytes: 5 }, 'size recomputed from disk');
  const [m] = b.outbox.peek(10);
  t.same({ id: m!.id, topic: m!.topic, retain: m!.retain, coalesceKey: m!.coalesceKey }, { id: id1, topic: 'x/1', retain: true, coalesceKey: 'digest' });
  const id3 = b.outbox.enqueue({ topic: 'x/3', payload: bytes(1), qos: 1, retain: false });
  t.ok(id3 > id2, `new id ${id3} is above the acked ${id2} (AUTOINCREMENT)`);
});

t.test('coalescing: a keyed enqueue replaces the unacked message with the same key', async (t) => {
  const { outbox } = setup(t);
  outbox.enqueue({ topic: 'delta/1', payload: bytes(1), qos: 1, retain: false });
  const d1 = outbox.enqueue({ topic: 'digest', payload: bytes(2, 1), qos: 1, retain: true, coalesceKey: 'digest' });
  outbox.enqueue({ topic: 'state', payload: bytes(2), qos: 1, retain: true, coalesceKey: 'state' });
  const d2 = outbox.enqueue({ topic: 'digest', payload: bytes(4, 2), qos: 1, retain: true, coalesceKey: 'digest' });
  t.same(topics(outbox), ['delta/1', 'state', 'digest'], 'latest digest moves to the tail');
  t.same([...outbox.peek(10).at(-1)!.payload], [2, 2, 2, 2]);
  t.same(outbox.size(), { messages: 3, bytes: 7 });
  t.equal(outbox.stats().dropped.coalesced, 1);
  outbox.ack(d1); // in flight when coalesced: the late ack is ignored
  t.same(topics(outbox), ['delta/1', 'state', 'digest']);
  outbox.ack(d2);
  t.same(topics(outbox), ['delta/1', 'state']);
});

t.test('overflow by count drops oldest un-keyed messages first, then oldest keyed', async (t) => {
  const { outbox } = setup(t, { maxMessages: 3 });
  outbox.enqueue({ topic: 'digest', payload: bytes(1), qos: 1, retain: true, coalesceKey: 'digest' });
  for (let i = 1; i <= 4; i++) outbox.enqueue({ topic: `delta/${i}`, payload: bytes(1), qos: 1, retain: false });
  t.same(topics(outbox), ['digest', 'delta/3', 'delta/4'], 'deltas dropped oldest-first, digest kept');
  t.equal(outbox.stats().dropped.overflow, 2);
  outbox.enqueue({ topic: 'state', payload: bytes(1), qos: 1, retain: true, coalesceKey: 'state' });
  outbox.enqueue({ topic: 'energy', payload: bytes(1), qos: 0, retain: true, coalesceKey: 'energy' });
  t.same(topics(outbox), ['digest', 'state', 'energy'], 'all deltas gone before keyed ones');
  outbox.enqueue({ topic: 'want', payload: bytes(1), qos: 1, retain: false, coalesceKey: 'want' });
  t.same(topics(outbox), ['state', 'energy', 'want'], 'then the oldest keyed message');
  t.equal(outbox.stats().dropped.overflow, 5);
  t.same(outbox.size().messages, 3);
});

t.test('overflow by bytes, never the new message; a payload over maxBytes is OUTBOX_FULL', async (t) => {
  const { outbox } = setup(t, { maxBytes: 100 });
  outbox.enqueue({ topic: 'a', payload: bytes(40), qos: 1, retain: false });
  outbox.enqueue({ topic: 'b', payload: bytes(40), qos: 1, retain: false });
  outbox.enqueue({ topic: 'c', payload: bytes(90), qos: 1, retain: false });
  t.same(topics(outbox), ['c'], 'dropped both older messages to fit');
  t.same(outbox.size(), { messages: 1, bytes: 90 });
  const err = t.throws(() => outbox.enqueue({ topic: 'huge', payload: bytes(101), qos: 1, retain: false })) as H3lixError;
  t.equal(err.code, 'OUTBOX_FULL');
  t.match(err.message, /huge.*101 bytes/);
  t.same(topics(outbox), ['c'], 'rejected message changed nothing');
});

t.test('TTL: expired messages are hidden from peek and removed by expire()', async (t) => {
  const { outbox, clock } = setup(t, { ttlSeconds: 60 });
  outbox.enqueue({ topic: 'old', payload: bytes(10), qos: 1, retain: false });
  clock.advance(30_000);
  outbox.enqueue({ topic: 'new', payload: bytes(5), qos: 1, retain: false });
  clock.advance(30_001);
  t.same(topics(outbox), ['new'], 'old one hidden once past TTL');
  t.equal(outbox.expire(), 1);
  t.equal(outbox.expire(), 0, 'idempotent');
  t.same(outbox.size(), { messages: 1, bytes: 5 });
  t.equal(outbox.stats().dropped.expired, 1);
  clock.advance(60_000);
  t.equal(outbox.expire(), 1);
  t.same(outbox.size(), { messages: 0, bytes: 0 });
});

t.test('TTL with an unset RTC: rows stamped before 2020 are re-stamped, not mass-expired', async (t) => {
  const dir = t.testdir();
  const clock = new ManualClock(86_400_000); // 1970-01-02: board booted without RTC
  const store = openStore({ dataDir: dir, clock });
  t.teardown(() => store.close());
  const outbox = new Outbox({ store, clock, ttlSeconds: 3600 });
  outbox.enqueue({ topic: 'boot', payload: bytes(1), qos: 1, retain: false });
  t.equal(outbox.expire(), 0, 'no expiry while the wall clock is implausible');
  clock.jumpWall(Date.UTC(2026, 5, 21) - clock.now()); // NTP sync
  t.same(topics(outbox), ['boot'], 'still visible after the jump');
  t.equal(outbox.expire(), 0, 're-stamped instead of expired');
  t.equal(outbox.peek(1)[0]!.createdAt, clock.now());
  clock.advance(3_600_001);
  t.equal(outbox.expire(), 1, 'expires one TTL after the clock became plausible');
});

t.test('enqueue, ack and expire work inside a caller transaction and roll back with it', async (t) => {
  const { outbox, store } = setup(t);
  const id = outbox.enqueue({ topic: 'a', payload: bytes(2), qos: 1, retain: false });
  store.db.transaction(() => {
    outbox.enqueue({ topic: 'b', payload: bytes(3), qos: 1, retain: false });
    outbox.ack(id);
    outbox.expire();
  })();
  t.same(topics(outbox), ['b']);
  t.equal(store.db.pragma('synchronous', { simple: true }), 2, 'still FULL');
  t.throws(() =>
    store.db.transaction(() => {
      outbox.enqueue({ topic: 'c', payload: bytes(4), qos: 1, retain: false });
      throw new Error('caller failed');
    })(),
  );
  t.same(topics(outbox), ['b'], 'rolled back with the caller');
  t.same(outbox.size(), { messages: 1, bytes: 3 }, 'size mirror re-read after the rollback');
});

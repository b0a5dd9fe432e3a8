import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { openStore } from '../../src/store/db.js';
import { KvStore, ReplayStateStore, SeqStore } from '../../src/store/seq-store.js';
import { H3lixError } from '../../src/errors.js';

t.test('seqs are 1, 2, 3, ... and one durable write reserves a block', async (t) => {
  const store = openStore({ dataDir: t.testdir() });
  t.teardown(() => store.close());
  const seq = new SeqStore({ store, sender: 'nA', blockSize: 4 });
  t.equal(seq.current(), 0);
  const got = Array.from({ length: 9 }, () => seq.next());
  t.same(got, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  t.equal(seq.current(), 9);
  const reserved = store.db.prepare("SELECT value FROM counters WHERE name = 'seq:nA'").get() as { value: number };
  t.equal(reserved.value, 12, 'three blocks of 4 reserved');
  const other = new SeqStore({ store, sender: 'nB' });
  t.equal(other.next(), 1, 'independent per sender');
});

t.test('after an unclean stop (no close), a new instance continues above the reserved block', async (t) => {
  const dir = t.testdir();
  const a = openStore({ dataDir: dir });
  const s1 = new SeqStore({ store: a, sender: 'n', blockSize: 100 });
  for (let i = 0; i < 42; i++) s1.next();
  // Simulate a crash: a second handle opens while the first was never closed.
  const b = openStore({ dataDir: dir });
  t.teardown(() => {
    b.close();
    a.close();
  });
  const s2 = new SeqStore({ store: b, sender: 'n', blockSize: 100 });
  t.equal(s2.current(), 100, 'restart floor = end of the reserved block');
  t.equal(s2.next(), 101, 'skips the unused remainder, never repeats 1..42');
});

t.test('seq never repeats across a SIGKILL (child process)', async (t) => {
  const dir = t.testdir();
  const script = join(import.meta.dirname, 'fixtures', 'seq-child.ts');
  let last = 0;
  for (let round = 0; round < 3; round++) {
    // The child prints each seq after next() returns, then kills itself with SIGKILL mid-block.
    const r = spawnSync(process.execPath, ['--import', 'tsx', script, dir, String(5 + round * 7)], { encoding: 'utf8' });
    t.equal(r.signal, 'SIGKILL', `round ${round}: child died by SIGKILL`);
    const seqs = r.stdout.trim().split('\n').map(Number);
    t.ok(seqs[0]! > last, `round ${round}: first seq ${seqs[0]} > previous max ${last}`);
    last = seqs.at(-1)!;
  }
});

t.test('KvStore: bytes and text round-trip, overwrite, delete, prefix keys, type checks', async (t) => {
  const dir = t.testdir();
  let store = openStore({ dataDir: dir });
  let kv = new KvStore({ store });
  kv.set('sync.vector', new Uint8Array([1, 2, 3]));
  kv.set('sync.cursor', '42');
  kv.set('other', 'x');
  kv.setMany([
    ['sync.cursor', '43'],
    ['sync.peer.a', 'b'],
  ]);
  store.close();
  store = openStore({ dataDir: dir });
  t.teardown(() => store.close());
  kv = new KvStore({ store });
  t.same(kv.getBytes('sync.vector'), new Uint8Array([1, 2, 3]));
  t.equal(kv.getString('sync.cursor'), '43', 'text that looks numeric stays text');
  t.same(kv.keys('sync.'), ['sync.cursor', 'sync.peer.a', 'sync.vector']);
  t.equal(kv.keys().length, 4);
  t.equal((t.throws(() => kv.getBytes('sync.cursor')) as H3lixError).code, 'STORE_CORRUPT');
  t.equal((t.throws(() => kv.getString('sync.vector')) as H3lixError).code, 'STORE_CORRUPT');
  kv.delete('other');
  t.equal(kv.get('other'), undefined);
  t.equal(kv.getString('never'), undefined);
  kv.set('empty', new Uint8Array(0));
  t.same(kv.getBytes('empty'), new Uint8Array(0), 'empty bytes stay bytes');
});

t.test('ReplayStateStore persists an opaque blob', async (t) => {
  const dir = t.testdir();
  const a = openStore({ dataDir: dir });
  t.equal(new ReplayStateStore({ store: a }).load(), undefined);
  new ReplayStateStore({ store: a }).save(new Uint8Array([9, 8, 7]));
  a.close();
  const b = openStore({ dataDir: dir });
  t.teardown(() => b.close());
  t.same(new ReplayStateStore({ store: b }).load(), new Uint8Array([9, 8, 7]));
});

t.test('two handles on one data directory never hand out the same seq', async (t) => {
  const dir = t.testdir();
  const a = openStore({ dataDir: dir });
  const b = openStore({ dataDir: dir });
  t.teardown(() => {
    a.close();
    b.close();
  });
  const sa = new SeqStore({ store: a, sender: 'n', blockSize: 5 });
  const sb = new SeqStore({ store: b, sender: 'n', blockSize: 5 });
  sa.current();
  sb.current(); // both read the same floor before either reserves
  const seen = new Set<number>();
  for (let i = 0; i < 40; i++) {
    for (const s of [sa, sb]) {
      const v = s.next();
      t.notOk(seen.has(v), `seq ${v} unique`);
      seen.add(v);
    }
  }
  t.equal(seen.size, 80);
});

t.test('a reservation made inside a caller transaction that rolls back is re-made before the next seq', async (t) => {
  const dir = t.testdir();
  const a = openStore({ dataDir: dir });
  const seq = new SeqStore({ store: a, sender: 'n', blockSize: 10 });
  const inside: number[] = [];
  t.throws(() =>
    a.db.transaction(() => {
      inside.push(seq.next(), seq.next());
      throw new Error('caller failed');
    })(),
  );
  t.same(inside, [1, 2]);
  const after = seq.next();
  t.equal(after, 3, 'numbering continues (1 and 2 may have been used)');
  const reserved = (a.db.prepare("SELECT value FROM counters WHERE name = 'seq:n'").get() as { value: number }).value;
  t.ok(reserved >= after, `durable reservation ${reserved} covers seq ${after} again`);
  a.close();
  const b = openStore({ dataDir: dir });
  t.teardown(() => b.close());
  t.ok(new SeqStore({ store: b, sender: 'n' }).next() > after, 'restart continues above');
});

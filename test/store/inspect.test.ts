import t from 'tap';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../../src/store/db.js';
import { FieldStore } from '../../src/store/field-store.js';
import { loadOrCreateIdentity } from '../../src/store/identity.js';
import { inspectDataDir } from '../../src/store/inspect.js';
import { Outbox } from '../../src/store/outbox.js';
import { KvStore, SeqStore } from '../../src/store/seq-store.js';

t.test('empty data directory: no identity, no database, nothing created', async (t) => {
  const dir = t.testdir();
  const r = inspectDataDir(dir);
  t.same([r.nodeId, r.hasDatabase, r.localVersion, r.contributions.length], [null, false, 0, 0]);
  t.same(readdirSync(dir), []);
});

t.test('reports identity, per-key origins and versions, outbox, counters; while the writer is open', async (t) => {
  const dir = t.testdir();
  const id = loadOrCreateIdentity(dir);
  const store = openStore({ dataDir: dir });
  t.teardown(() => store.close());
  const hlc = { wall: 1, logical: 0 };
  new FieldStore({ store }).save(
    [
      { origin: id.nodeId, key: 'cat', sum: Float32Array.from([1, 2]), count: 2, version: 4, hlc },
      { origin: 'nOther', key: 'cat', sum: Float32Array.from([3, 4]), count: 1, version: 9, hlc },
      { origin: 'nOther', key: 'dog', sum: Float32Array.from([5, 6]), count: 1, version: 11, hlc },
    ],
    4,
  );
  const ob = new Outbox({ store });
  ob.enqueue({ topic: 'a', payload: new Uint8Array(10), qos: 1, retain: false });
  ob.enqueue({ topic: 'b', payload: new Uint8Array(5), qos: 1, retain: false });
  new SeqStore({ store, sender: id.nodeId, blockSize: 10 }).next();
  new KvStore({ store }).set('sync.x', 'y');

  const r = inspectDataDir(dir);
  t.equal(r.nodeId, id.nodeId);
  t.equal(r.signingPublicKey, Buffer.from(id.signing.publicKey).toString('base64'));
  t.notMatch(JSON.stringify(r), Buffer.from(id.signing.seed).toString('base64'), 'no private key in the report');
  t.equal(r.localVersion, 4);
  t.same(r.versionVector, { [id.nodeId]: 4, nOther: 11 });
  t.same(
    r.keys.map((k) => [k.key, k.dim, k.origins.map((o) => `${o.origin}@${o.version}`).sort()]),
    [
      ['cat', 2, [`${id.nodeId}@4`, 'nOther@9'].sort()],
      ['dog', 2, ['nOther@11']],
    ],
  );
  t.equal(r.contributions.length, 3);
  t.same([r.outbox.messages, r.outbox.bytes], [2, 15]);
  t.equal(r.counters[`seq:${id.nodeId}`], 10);
  t.same(r.kvKeys, ['sync.x']);
});

t.test('works on a cleanly closed store (no -wal/-shm) and writes nothing', async (t) => {
  const dir = t.testdir();
  const store = openStore({ dataDir: dir });
  new Outbox({ store }).enqueue({ topic: 'a', payload: new Uint8Array(3), qos: 0, retain: false });
  store.close();
  const before = readFileSync(join(dir, 'h3lix.db'));
  const r = inspectDataDir(dir);
  t.same([r.hasDatabase, r.nodeId, r.outbox.messages], [true, null, 1]);
  t.ok(readFileSync(join(dir, 'h3lix.db')).equals(before), 'database bytes unchanged');
  // SQLite's read-only WAL reader may leave an empty -wal and the -shm index; no data is written.
  t.same(readdirSync(dir).filter((n) => !/^h3lix\.db(-wal|-shm)?$/.test(n)), []);
  const wal = join(dir, 'h3lix.db-wal');
  t.equal(existsSync(wal) ? statSync(wal).size : 0, 0, 'nothing appended to the WAL');
});

import t from 'tap';
import Database from 'better-sqlite3';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore, storeError } from '../../src/store/db.js';
import { MIGRATIONS, SCHEMA_VERSION, type Migration } from '../../src/store/migrations.js';
import { H3lixError } from '../../src/errors.js';
import { ManualClock } from '../../src/util/clock.js';

t.test('fresh store: WAL, synchronous=FULL, schema at the latest version, 0600', async (t) => {
  const dir = join(t.testdir(), 'nested', 'data');
  const store = openStore({ dataDir: dir });
  t.teardown(() => store.close());
  t.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
  t.equal(store.db.pragma('synchronous', { simple: true }), 2, 'FULL = 2');
  t.equal(store.schemaVersion, SCHEMA_VERSION);
  t.equal(store.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  t.equal(statSync(store.path).mode & 0o777, 0o600);
  t.equal(statSync(dir).mode & 0o777, 0o700);
  store.relaxed(() => t.equal(store.db.pragma('synchronous', { simple: true }), 1, 'NORMAL inside relaxed()'));
  t.equal(store.db.pragma('synchronous', { simple: true }), 2, 'FULL again after relaxed()');
  store.close();
  store.close(); // idempotent
});

t.test('migrations run in order, each atomically, and are not re-run', async (t) => {
  const dir = t.testdir();
  const ran: number[] = [];
  const v2: Migration = {
    version: 2,
    description: 'add notes',
    up(db) {
      ran.push(2);
      db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)');
    },
  };
  const s1 = openStore({ dataDir: dir, migrations: MIGRATIONS.slice(0, 1) });
  s1.db.prepare("INSERT INTO kv (key, value) VALUES ('keep', 'me')").run();
  s1.close();
  const s2 = openStore({ dataDir: dir, migrations: [...MIGRATIONS.slice(0, 1), v2] });
  t.equal(s2.schemaVersion, 2);
  t.same(ran, [2]);
  t.equal((s2.db.prepare("SELECT value FROM kv WHERE key='keep'").get() as { value: string }).value, 'me', 'data kept across migration');
  s2.close();
  const s3 = openStore({ dataDir: dir, migrations: [...MIGRATIONS.slice(0, 1), v2] });
  t.same(ran, [2], 'not re-run on the next open');
  s3.close();

  const broken: Migration = {
    version: 3,
    description: 'fails halfway',
    up(db) {
      db.exec('CREATE TABLE half (x)');
      throw new Error('boom');
    },
  };
  t.throws(() => openStore({ dataDir: dir, migrations: [...MIGRATIONS.slice(0, 1), v2, broken] }), /boom/);
  const s4 = openStore({ dataDir: dir, migrations: [...MIGRATIONS.slice(0, 1), v2] });
  t.teardown(() => s4.close());
  t.equal(s4.schemaVersion, 2, 'failed migration rolled back the version');
  t.notOk(s4.db.prepare("SELECT name FROM sqlite_master WHERE name='half'").get(), 'and its partial changes');
});

t.test('a database from a newer schema is refused and left in place', async (t) => {
  const dir = t.testdir();
  const s = openStore({ dataDir: dir });
  s.db.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
  s.close();
  const err = t.throws(() => openStore({ dataDir: dir })) as H3lixError;
  t.equal(err.code, 'STORE_CORRUPT');
  t.match(err.message, /newer/);
  t.ok(existsSync(join(dir, 'h3lix.db')), 'not moved aside');
  t.notOk(readdirSync(dir).some((n) => n.includes('corrupt')));
});

t.test('garbage database file: moved aside with a clear STORE_CORRUPT, next open starts empty', async (t) => {
  const dir = t.testdir({ 'h3lix.db': 'this is not a sqlite database, just some bytes '.repeat(200) });
  const clock = new ManualClock(Date.UTC(2026, 10, 27, 3, 4, 5));
  const err = t.throws(() => openStore({ dataDir: dir, clock })) as H3lixError;
  t.equal(err.code, 'STORE_CORRUPT');
  t.equal(err.retryable, true);
  t.match(err.message, /moved aside to .*h3lix\.db\.corrupt-2026-11-27T03-04-05/);
  const moved = String(err.detail?.movedTo);
  t.match(readFileSync(moved, 'utf8'), /not a sqlite database/, 'original bytes kept for recovery');
  t.notOk(existsSync(join(dir, 'h3lix.db')));
  const fresh = openStore({ dataDir: dir, clock });
  t.teardown(() => fresh.close());
  t.equal(fresh.schemaVersion, SCHEMA_VERSION);
});

t.test("onCorrupt: 'refuse' leaves a damaged database untouched", async (t) => {
  const dir = t.testdir();
  const s = openStore({ dataDir: dir });
  const ins = s.db.prepare('INSERT INTO kv (key, value) VALUES (?, ?)');
  s.db.transaction(() => {
    for (let i = 0; i < 2000; i++) ins.run(`key-${i}`, Buffer.alloc(200, i));
  })();
  s.close();
  const path = join(dir, 'h3lix.db');
  const bytes = readFileSync(path);
  // Smash the middle pages (b-tree pages), keep the header: opens, then fails the check.
  bytes.fill(0xa5, 8192, bytes.length - 8192);
  writeFileSync(path, bytes);
  const err = t.throws(() => openStore({ dataDir: dir, onCorrupt: 'refuse' })) as H3lixError;
  t.equal(err.code, 'STORE_CORRUPT');
  t.ok(readFileSync(path).equals(bytes), 'file untouched');
  t.notOk(readdirSync(dir).some((n) => n.includes('corrupt')));
  const ro = t.throws(() => openStore({ dataDir: dir, readonly: true })) as H3lixError;
  t.equal(ro.code, 'STORE_CORRUPT', 'read-only open refuses too');
  t.ok(existsSync(path));
});

t.test('unwritable data directory is STORE_IO', { skip: process.getuid?.() === 0 ? 'root ignores permissions' : false }, async (t) => {
  const dir = t.testdir();
  chmodSync(dir, 0o500);
  t.teardown(() => chmodSync(dir, 0o700));
  const err = t.throws(() => openStore({ dataDir: join(dir, 'sub') })) as H3lixError;
  t.equal(err.code, 'STORE_IO');
});

t.test('data directory path is a file: STORE_IO naming the path', async (t) => {
  const dir = t.testdir({ file: 'x' });
  const err = t.throws(() => openStore({ dataDir: join(dir, 'file') })) as H3lixError;
  t.equal(err.code, 'STORE_IO');
  t.match(err.message, /file/);
});

t.test('read-only open of a missing database is STORE_IO, of a good one works without writing', async (t) => {
  const dir = t.testdir();
  t.equal((t.throws(() => openStore({ dataDir: dir, readonly: true })) as H3lixError).code, 'STORE_IO');
  openStore({ dataDir: dir }).close();
  const ro = openStore({ dataDir: dir, readonly: true });
  t.teardown(() => ro.close());
  t.equal(ro.schemaVersion, SCHEMA_VERSION);
  t.throws(() => ro.db.prepare("INSERT INTO kv (key, value) VALUES ('a', 'b')").run(), /readonly/);
});

t.test('storeError classifies sqlite codes', async (t) => {
  const mk = (code: string) => Object.assign(new Error('x'), { code });
  t.equal(storeError(mk('SQLITE_CORRUPT'), 'w', 'p').code, 'STORE_CORRUPT');
  t.equal(storeError(mk('SQLITE_NOTADB'), 'w', 'p').code, 'STORE_CORRUPT');
  const full = storeError(mk('SQLITE_FULL'), 'w', 'p');
  t.same([full.code, full.retryable], ['STORE_IO', true]);
  t.same([storeError(mk('SQLITE_READONLY'), 'w', 'p').retryable], [false]);
  const h = new H3lixError('OUTBOX_FULL', 'x');
  t.equal(storeError(h, 'w', 'p'), h, 'H3lixError passes through');
  t.equal(storeError('str', 'w', 'p').code, 'STORE_IO');
});

t.test('two handles see committed data (WAL readers)', async (t) => {
  const dir = t.testdir();
  const a = openStore({ dataDir: dir });
  t.teardown(() => a.close());
  a.db.prepare("INSERT INTO kv (key, value) VALUES ('k', 'v')").run();
  const b = new Database(join(dir, 'h3lix.db'), { readonly: true });
  t.teardown(() => b.close());
  t.same(b.prepare('SELECT value FROM kv').get(), { value: 'v' });
});

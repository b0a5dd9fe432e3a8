import t from 'tap';
import { copyFileSync, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../../src/store/db.js';
import { FieldStore } from '../../src/store/field-store.js';
import { Outbox } from '../../src/store/outbox.js';
import { contributionFor, payloadFor } from './fixtures/crash-model.js';

/**
 * What a power cut can leave behind that a SIGKILL cannot: a WAL whose tail was never (fully) written.
 * With autocheckpoint off every round lives in the WAL; copies of db+WAL cut at random offsets (and
 * with a garbage tail) must open cleanly as a consistent earlier state (SQLite's WAL frame checksums).
 */
t.test('a torn or garbage WAL tail yields a consistent earlier state, never corruption', async (t) => {
  const src = t.testdir();
  const store = openStore({ dataDir: src });
  store.db.pragma('wal_autocheckpoint = 0');
  const field = new FieldStore({ store });
  const outbox = new Outbox({ store });
  const ROUNDS = 60;
  for (let v = 1; v <= ROUNDS; v++) {
    field.save([contributionFor(v)], v);
    outbox.enqueue({ topic: `t/${v}`, payload: payloadFor(v), qos: 1, retain: false });
  }
  const walSize = statSync(join(src, 'h3lix.db-wal')).size;
  t.ok(walSize > 100_000, `WAL holds the rounds (${walSize} bytes)`);
  const seen = new Set<number>();
  for (let trial = 0; trial < 25; trial++) {
    const dir = join(src, `copy-${trial}`);
    mkdirSync(dir);
    copyFileSync(join(src, 'h3lix.db'), join(dir, 'h3lix.db'));
    copyFileSync(join(src, 'h3lix.db-wal'), join(dir, 'h3lix.db-wal'));
    const cut = Math.floor(Math.random() * walSize);
    truncateSync(join(dir, 'h3lix.db-wal'), cut);
    if (trial % 2) writeFileSync(join(dir, 'h3lix.db-wal'), Buffer.concat([readFileSync(join(dir, 'h3lix.db-wal')), Buffer.alloc(3000, 0x5a)]));
    const copy = openStore({ dataDir: dir, integrityCheck: 'full', onCorrupt: 'refuse' });
    try {
      const { contributions, localVersion } = new FieldStore({ store: copy }).load();
      const topics = new Outbox({ store: copy }).peek(1000).map((m) => Number(m.topic.slice(2)));
      const contiguous = topics.every((v, i) => v === i + 1);
      const consistent =
        contributions.every((c) => c.version <= localVersion && c.sum[0] === contributionFor(c.version).sum[0]) &&
        contiguous &&
        (topics.length === localVersion || topics.length === localVersion - 1);
      t.ok(consistent, `cut at ${cut}${trial % 2 ? ' + garbage' : ''}: consistent prefix (field v${localVersion}, outbox ${topics.length})`);
      seen.add(localVersion);
    } finally {
      copy.close();
    }
  }
  store.close();
  t.ok(seen.size > 3, `cuts landed at ${seen.size} different states`);
});

import t from 'tap';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from '../helpers/cli.js';

// Issue 9 section 8: odd CLI inputs fail fast, with a clear error, leaving nothing behind.

t.test('h3lix run --board nosuchboard fails before creating the identity or the database', async (t) => {
  const dir = t.testdir();
  const data = join(dir, 'data');
  const cfg = join(dir, 'h3lix.yaml');
  writeFileSync(cfg, `node:\n  dataDir: ${data}\n  fleet: f1\nlog:\n  level: silent\nbroker:\n  embedded:\n    enabled: true\n    port: 0\n`);
  const r = await cli(['run', '--config', cfg, '--board', 'nosuchboard']);
  t.equal(r.code, 78, 'exit 78 (config)');
  t.match(r.stderr, /BOARD_UNKNOWN|nosuchboard/, 'names the board');
  t.notOk(existsSync(data) && readdirSync(data).length > 0, `nothing created in the data dir (${existsSync(data) ? readdirSync(data).join(', ') : 'absent'})`);
});

t.test('h3lix run --config /dev/zero stops reading at the size bound', { skip: existsSync('/dev/zero') ? false : 'no /dev/zero' }, async (t) => {
  const r = await cli(['run', '--config', '/dev/zero']);
  t.equal(r.code, 78, 'exit 78 (config)');
  t.match(r.stderr, /larger than 1048576 bytes/, 'says why');
});

t.test('h3lix demo --broker to a closed port exits 69 with the reason', async (t) => {
  const r = await cli(['demo', '--broker', 'mqtt://127.0.0.1:1', '--nodes', '2', '--seconds', '2']);
  t.equal(r.code, 69, `exit 69 (unavailable), stderr: ${r.stderr.trim().split('\n').at(-1)}`);
  t.match(r.stderr, /BROKER_UNAVAILABLE|cannot connect/, 'says why');
});

t.test('a 0-byte h3lix.db is reported, not silently taken as a new store', async (t) => {
  const { openStore } = await import('../../src/store/db.js');
  const { capturedLogger } = await import('../fleet/fixtures.js');
  const dir = t.testdir();
  writeFileSync(join(dir, 'h3lix.db'), '');
  const { logger, text } = capturedLogger();
  const store = openStore({ dataDir: dir, logger });
  store.close();
  t.match(text(), /h3lix\.db is 0 bytes/, 'warned with the path');
  const quiet = capturedLogger();
  openStore({ dataDir: dir, logger: quiet.logger }).close();
  t.notMatch(quiet.text(), /0 bytes/, 'a normal store opens without the warning');
});

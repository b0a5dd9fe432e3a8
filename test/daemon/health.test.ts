import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildRunDaemon } from '../../src/cli/commands/run.js';
import { validateConfig } from '../../src/config/load.js';
import { HEALTH_FILE, readHealth } from '../../src/daemon/health-file.js';
import { EmbeddedBroker } from '../../src/sync/embedded-broker.js';
import { silentLogger } from '../../src/util/logger.js';
import { cli } from '../helpers/cli.js';
import { freePort } from '../helpers/mosquitto.js';
import { until } from '../helpers/until.js';

/**
 * health.json and `h3lix health` (docs/bundle.md "Health"), against real daemons: healthy only while
 * the daemon runs with its broker connected; a daemon whose broker is down, a stopped daemon, a
 * missing or damaged file are each "not healthy" with the reason (the negative controls).
 */
t.test('h3lix health: healthy with the broker connected; not healthy when it is down, stopped, missing or damaged', async (t) => {
  const broker = new EmbeddedBroker({ port: 0 });
  await broker.start();
  t.teardown(() => broker.stop());
  const dir = t.testdir();
  const conf = (dataDir: string, url: string) => validateConfig({ node: { dataDir, fleet: 'h' }, broker: { embedded: { enabled: false }, url, reconnectMs: 100 }, log: { level: 'silent' } });

  const none = await cli(['health', '--data-dir', join(dir, 'a')]);
  t.equal(none.code, 1, 'no daemon yet: exit 1');
  t.match(none.stdout, /not healthy: no health.json/);

  const a = (await buildRunDaemon({ config: conf(join(dir, 'a'), broker.url), logger: silentLogger(), drainTimeoutMs: 100 })).daemon;
  await a.start();
  t.teardown(() => a.stop('test end'));
  await until(() => readHealth(join(dir, 'a'))?.brokerConnected === true, 10_000, 'connected in health.json');
  const ok = await cli(['health', '--data-dir', join(dir, 'a'), '--json']);
  t.equal(ok.code, 0, ok.stdout);
  t.equal(JSON.parse(ok.stdout).healthy, true);

  // A broker nobody listens on: the daemon runs, but is not healthy.
  const b = (await buildRunDaemon({ config: conf(join(dir, 'b'), `mqtt://127.0.0.1:${await freePort()}`), logger: silentLogger(), drainTimeoutMs: 100 })).daemon;
  await b.start();
  t.teardown(() => b.stop('test end'));
  const down = await cli(['health', '--data-dir', join(dir, 'b'), '--wait', '1']);
  t.equal(down.code, 1);
  t.match(down.stdout, /the broker is not connected/);

  await a.stop('test');
  const stopped = await cli(['health', '--data-dir', join(dir, 'a')]);
  t.equal(stopped.code, 1);
  t.match(stopped.stdout, /stopped/);

  writeFileSync(join(dir, 'b', HEALTH_FILE), '{"v":1,"pid":1}');
  const bad = await cli(['health', '--data-dir', join(dir, 'b')]);
  t.equal(bad.code, 1, 'a damaged file is not healthy');
  t.match(bad.stdout, /not healthy: .*health.json/);
});

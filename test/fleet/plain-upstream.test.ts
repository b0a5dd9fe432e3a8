import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { capturedLogger, makeFleet } from './fixtures.js';
import { buildRunDaemon } from '../../src/cli/commands/run.js';
import { createDaemon } from '../../src/daemon/daemon.js';
import { validateConfig } from '../../src/config/load.js';
import { checkPlainUpstream } from '../../src/sync/tls.js';

/**
 * Credentials never travel in clear beyond this machine unless the config says so (issue 9 item 2):
 * a plain `mqtt://` URL to a non-loopback host with credentials is refused at start with the key to
 * change; `broker.allowInsecure: true` is the negative control (it goes on, with a warning). 192.0.2.1
 * is TEST-NET-1: nothing answers there, so the controls end in a provisioning timeout, not a login.
 */
const REMOTE = 'mqtt://192.0.2.1:1883';

t.test('fleet mode: a plain remote broker is refused before any identity is made; the control provisions', async (t) => {
  const dir = t.testdir();
  const fd = makeFleet(dir);
  const cfg = (allowInsecure: boolean, data: string) =>
    validateConfig({
      node: { dataDir: join(dir, data), fleet: fd.fleet, board: 'rpi-4' },
      broker: { embedded: { enabled: false }, url: REMOTE, allowInsecure },
      log: { level: 'silent' },
      fleet: { enabled: true, imageDir: fd.path('image', 'b1'), attemptTimeoutMs: 200, maxAttempts: 1, backoffMs: 10 },
    });
  const refused = capturedLogger();
  await t.rejects(buildRunDaemon({ config: cfg(false, 'a'), logger: refused.logger }), { code: 'CONFIG_INVALID', message: /broker\.url: fleet mode would send credentials in clear to mqtt:\/\/192\.0\.2\.1:1883: use mqtts:\/\/ \(broker\.tls\), or set broker\.allowInsecure: true/ });
  t.notOk(existsSync(join(dir, 'a', 'identity.json')), 'no identity was created for the refused start');
  const ctl = capturedLogger();
  await t.rejects(buildRunDaemon({ config: cfg(true, 'b'), logger: ctl.logger }), { code: 'PROVISION_TIMEOUT' }, 'control: with allowInsecure it tries to provision there');
  t.ok(existsSync(join(dir, 'b', 'identity.json')), 'control: that start did create its identity (the check above can fail)');
  t.match(ctl.text(), /credentials travel in clear to 192\.0\.2\.1 \(broker\.allowInsecure\)/, 'and says the credentials travel in clear');
});

t.test('open mode: a password to a plain remote broker is refused; anonymous and loopback are not', async (t) => {
  const dir = t.testdir();
  const base = (over: Record<string, unknown>, data: string) => validateConfig({ node: { dataDir: join(dir, data), fleet: 'f' }, broker: { embedded: { enabled: false }, url: REMOTE, reconnectMs: 60_000, ...over }, log: { level: 'silent' } });
  const a = createDaemon({ config: base({ username: 'u', password: 'p' }, 'a'), drainTimeoutMs: 10 });
  await t.rejects(a.start(), { code: 'CONFIG_INVALID', message: /the daemon would send credentials in clear/ });
  const ctl = createDaemon({ config: base({ username: 'u', password: 'p', allowInsecure: true }, 'b'), drainTimeoutMs: 10 });
  await ctl.start();
  t.ok(ctl.started, 'control: allowInsecure starts it');
  await ctl.stop();
  const anon = createDaemon({ config: base({}, 'c'), drainTimeoutMs: 10 });
  await anon.start();
  t.ok(anon.started, 'anonymous plain connections are not refused (every CCF message is signed)');
  await anon.stop();
  t.doesNotThrow(() => checkPlainUpstream('mqtt://127.0.0.1:1883', true, false, 'x'), 'loopback is fine');
  t.doesNotThrow(() => checkPlainUpstream('mqtts://192.0.2.1:8883', true, false, 'x'), 'mqtts is fine');
  t.throws(() => checkPlainUpstream('ws://192.0.2.1:8080', true, false, 'x'), { code: 'CONFIG_INVALID' }, 'ws:// beyond loopback is plain too');
});

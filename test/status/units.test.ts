/** Unit tests of the status parts: config sections, token file, loopback detection, peers, chart history. */
import t from 'tap';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyEnvOverrides, validateConfig } from '../../src/config/load.js';
import { chartHistory } from '../../src/status/history.js';
import { PeerTracker } from '../../src/status/peers.js';
import { summarizeField } from '../../src/status/summary.js';
import { isLoopbackHost, loadOrCreateToken, tokenFilePath, tokenMatches } from '../../src/status/token.js';
import { fleetTopics } from '../../src/sync/topics.js';
import { syntheticHistory } from './rig.js';

t.test('config: defaults, env overrides, errors name the key', async (t) => {
  const c = validateConfig({});
  t.match(c.status, { enabled: false, host: '127.0.0.1', port: 8080 });
  t.match(c.homeassistant, { enabled: false, prefix: 'homeassistant', discovery: 'device' });
  const env = applyEnvOverrides({}, { H3LIX_STATUS__ENABLED: 'true', H3LIX_STATUS__PORT: '9090', H3LIX_HOMEASSISTANT__DISCOVERY: 'component' });
  const o = validateConfig(env);
  t.equal(o.status.enabled, true);
  t.equal(o.status.port, 9090);
  t.equal(o.homeassistant.discovery, 'component');
  t.throws(() => validateConfig({ status: { port: 70_000 } }), /status\.port/);
  t.throws(() => validateConfig({ status: { bogus: 1 } }), /status/);
  t.throws(() => validateConfig({ homeassistant: { prefix: 'home/#' } }), /homeassistant\.prefix/);
});

t.test('token file and loopback detection', async (t) => {
  for (const h of ['127.0.0.1', '127.8.9.1', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) t.ok(isLoopbackHost(h), `${h} is loopback`);
  for (const h of ['0.0.0.0', '::', '192.0.2.10', 'board.local', '128.0.0.1']) t.notOk(isLoopbackHost(h), `${h} is not`);
  const dir = t.testdir();
  const file = tokenFilePath(dir, undefined);
  t.equal(file, join(dir, 'status-token'));
  const a = loadOrCreateToken(file);
  t.equal(a.created, true);
  t.equal(statSync(file).mode & 0o777, 0o600, 'created 0600');
  t.ok(a.token.length >= 32);
  const b = loadOrCreateToken(file);
  t.same(b, { token: a.token, created: false }, 'read back, not replaced');
  t.ok(tokenMatches(a.token, a.token));
  t.notOk(tokenMatches(undefined, a.token));
  t.notOk(tokenMatches(a.token + 'x', a.token));
  writeFileSync(file, 'short\n');
  t.throws(() => loadOrCreateToken(file), { code: 'CONFIG_INVALID', message: /at least 16/ }, 'a weak token is refused');
});

t.test('peer tracker: births, deaths, bad presence, cleared state, bounded', async (t) => {
  const topics = fleetTopics('f');
  const p = new PeerTracker({ topics, self: 'nself', fleet: 'f', now: () => 1000, maxPeers: 2 });
  const state = (node: string, o: Record<string, unknown>): Buffer => Buffer.from(JSON.stringify({ v: 1, node, fleet: 'f', ts: 1, ...o }));
  p.onMessage(topics.state('na'), state('na', { online: true, energyMode: 'normal' }));
  p.onMessage(topics.state('nself'), state('nself', { online: true }));
  p.onMessage(topics.delta('na'), Buffer.from('x'));
  t.same(p.list().map((x) => x.node), ['na'], 'self and non-state topics ignored');
  p.onMessage(topics.state('na'), state('na', { online: false }));
  t.match(p.list()[0], { online: false, energyMode: 'normal' }, 'a death keeps the last known mode');
  p.onMessage(topics.state('nb'), Buffer.from('{not json'));
  p.onMessage(topics.state('nb'), state('nc', { online: true }));
  t.equal(p.rejected, 2, 'malformed and mismatched presence counted');
  p.onMessage(topics.state('nb'), state('nb', { online: true }));
  p.onMessage(topics.state('nc'), state('nc', { online: true }));
  t.same(p.list().map((x) => x.node), ['nb', 'nc'], 'bounded: the least recently seen dropped');
  p.onMessage(topics.state('nb'), Buffer.alloc(0));
  t.same(p.list().map((x) => x.node), ['nc'], 'cleared retained state removes the peer');
});

t.test('chart history: window ends at the newest point, downsampled, every mode change kept', async (t) => {
  t.same(chartHistory([], 7, 100), { from: 0, to: 0, points: [], modes: [], sourcePoints: 0 });
  const end = Date.UTC(1970, 0, 20); // a board without an RTC: the window follows the data, not the clock
  const pts = syntheticHistory(end, 9, 10);
  const h = chartHistory(pts, 7, 100);
  t.equal(h.to, end);
  t.equal(h.from, end - 7 * 86_400_000);
  t.ok(h.points.length <= 100 && h.points.length >= 95, `${h.points.length} points`);
  t.equal(h.sourcePoints, 7 * 144 + 1, 'only the last 7 days');
  const changes = pts.filter((p, i) => p.time >= h.from && i > 0 && pts[i - 1]!.mode !== p.mode && pts[i - 1]!.time >= h.from).length;
  t.equal(h.modes.length, changes + 1, 'every mode change at full resolution');
  t.ok(h.points.every((p, i) => i === 0 || p[0] > h.points[i - 1]![0]), 'oldest first');
  const f = summarizeField(
    [
      { origin: 'a', key: 'k1', sum: new Float32Array(2), count: 1.26, version: 1, hlc: { wall: 5, logical: 0 } },
      { origin: 'b', key: 'k1', sum: new Float32Array(2), count: 2, version: 1, hlc: { wall: 9, logical: 0 } },
      { origin: 'a', key: 'k2', sum: new Float32Array(2), count: 3, version: 2, hlc: { wall: 7, logical: 0 } },
    ],
    'dd',
    1,
  );
  t.same(f, { contributions: 3, keyCount: 2, originCount: 2, digest: 'dd', keys: [{ key: 'k1', origins: 2, count: 3.3, lastUpdate: 9 }] }, 'newest keys first, bounded');
});

t.test('a taken port: the status page is not started, the daemon runs on and says why', async (t) => {
  const { startStatusDaemon } = await import('./rig.js');
  const { createServer } = await import('node:net');
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const port = (blocker.address() as { port: number }).port;
  const lines: string[] = [];
  const { createLogger } = await import('../../src/util/logger.js');
  const { Writable } = await import('node:stream');
  const sink = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) });
  const rig = await startStatusDaemon(join(t.testdir(), 'data'), 'stport', { port }, {}, createLogger('info', sink)).catch((e: Error) => e);
  t.notOk(rig instanceof Error, 'the daemon started');
  if (rig instanceof Error) return;
  t.teardown(() => rig.stop());
  t.equal(rig.daemon.started, true);
  t.match(lines.join(''), /status page not started: cannot listen on 127\.0\.0\.1:\d+ \(another program uses the port; set status\.port\)/);
});

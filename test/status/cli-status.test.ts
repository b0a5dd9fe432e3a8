/**
 * `h3lix status` (read-only, safe while the daemon runs: from the data dir, or live from the running
 * daemon's status server) and `h3lix run` with `status.enabled` beyond loopback (token required and
 * announced at start).
 */
import t from 'tap';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zcdpToEpsilon } from '../../src/signals/accountant.js';
import type { StatusSummary } from '../../src/status/summary.js';
import { freePort } from '../helpers/mosquitto.js';
import { cli } from '../helpers/cli.js';
import { runDaemonOnce } from '../daemon/helpers.js';
import { get } from './http.js';
import { seedHistory, startStatusDaemon, syntheticHistory } from './rig.js';

t.test('status from the data dir while the daemon runs: energy from the history, field, privacy budget, outbox', async (t) => {
  const dataDir = join(t.testdir(), 'data');
  const history = syntheticHistory(Date.now() - 120_000, 7, 10);
  seedHistory(dataDir, history);
  const rig = await startStatusDaemon(dataDir, 'stcli', { port: 0 });
  t.teardown(() => rig.stop());
  const ctx = rig.daemon.context;
  ctx.field.contributeLocal('door-open', new Float32Array([1, 0, 0, 1]), 12);
  ctx.kv.set('signals.privacy-ledger', JSON.stringify({ rho: 0.02, deltaSelection: 1e-7, releases: 2 }));

  const r = await cli(['status', '--data-dir', dataDir, '--json']);
  t.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { source: string; summary: StatusSummary; history: { sourcePoints: number; modeShares: Record<string, number> } };
  t.match(out.source, /^read from .*data/, 'read from the data dir');
  const s = out.summary;
  if (!s.energy || !s.privacy) throw new Error('energy and privacy expected');
  t.equal(s.from, 'data-dir');
  t.equal(s.node, ctx.nodeId);
  const last = history.at(-1)!;
  t.equal(s.energy.mode, last.mode, 'mode of the newest stored reading');
  t.equal(s.energy.soc, last.soc);
  t.equal(s.field.contributions, 1);
  t.equal(s.field.keys[0]!.key, 'door-open');
  t.equal(s.field.digest, ctx.field.digest(), 'same digest as the running daemon');
  t.equal(s.privacy.releases, 2);
  t.ok(Math.abs(s.privacy.epsilonSpent - zcdpToEpsilon(0.02, 1e-5 - 1e-7)) < 1e-3, `ε ${s.privacy.epsilonSpent}`);
  t.equal(s.outbox.messages, ctx.outbox.size().messages);
  t.equal(out.history.sourcePoints, history.length);
  t.ok(out.history.modeShares.normal! > 0.5, 'time share per mode');

  const text = await cli(['status', '--data-dir', dataDir]);
  t.equal(text.code, 0);
  t.match(text.stdout, /^h3lix status: node n[a-z0-9]+ \(fleet demo, board generic-x86\), read from/m);
  t.match(text.stdout, /^energy {4}(normal|conserve|surplus) since .* SOC \d+ %/m);
  t.match(text.stdout, /^history {3}1009 readings over 7\.0 days/m);
  t.match(text.stdout, /^ {2}door-open +1 origins/m);
  t.match(text.stdout, /^privacy {3}ε [0-9.]+ of 10\.0 spent \(2 releases\)/m);

  t.equal(ctx.field.size(), 1, 'the daemon is unaffected');
  t.equal((await get(rig.base + '/healthz')).status, 200);
});

t.test('status never writes: an empty dir stays empty; a missing dir is a clear IO error', async (t) => {
  const empty = join(t.testdir(), 'empty');
  mkdirSync(empty);
  const r = await cli(['status', '--data-dir', empty, '--json']);
  t.equal(r.code, 0, r.stderr);
  t.equal(JSON.parse(r.stdout).summary.node, null, 'no identity yet');
  t.same(readdirSync(empty), [], 'nothing created (no identity, no database, no token)');
  const missing = await cli(['status', '--data-dir', join(empty, 'nope')]);
  t.equal(missing.code, 74);
  t.match(missing.stderr, /no data directory at .*nope/);
});

t.test('h3lix run with the status page beyond loopback: token announced, required, and used by `h3lix status`', async (t) => {
  const dir = t.testdir();
  const dataDir = join(dir, 'data');
  const port = await freePort();
  const cfg = join(dir, 'h3lix.yaml');
  const yaml = (host: string): string =>
    ['node:', `  dataDir: ${dataDir}`, '  fleet: strun', 'broker:', '  embedded:', '    port: 0', 'instance:', '  enabled: false', 'status:', '  enabled: true', `  host: ${host}`, `  port: ${port}`, 'log:', '  level: info', ''].join('\n');
  writeFileSync(cfg, yaml('0.0.0.0'));
  const base = `http://127.0.0.1:${port}`;
  const { code, stderr } = await runDaemonOnce(t, cfg, async (log) => {
    t.match(log(), /status page on http:\/\/0\.0\.0\.0:\d+\/ is reachable beyond loopback and requires the token in .*status-token/, 'says so at start');
    const tokenFile = join(dataDir, 'status-token');
    t.ok(existsSync(tokenFile), 'token created in the data dir');
    t.equal(readFileSync(tokenFile, 'utf8').trim().length >= 16, true);
    t.equal((await get(base + '/')).status, 401, 'no token: refused');
    t.equal((await get(base + '/metrics')).status, 401);
    const token = readFileSync(tokenFile, 'utf8').trim();
    t.equal((await get(base + '/metrics', { headers: { authorization: `Bearer ${token}` } })).status, 200, 'with the token');
    // The daemon prints ready before its transport's first CONNACK: ask until it reports connected.
    const ask = async (): Promise<{ code: number; stderr: string; out: { source: string; summary: { from: string; mqtt: string } } }> => {
      const live = await cli(['status', '--config', cfg, '--json']);
      return { code: live.code, stderr: live.stderr, out: JSON.parse(live.stdout.trim().split('\n').at(-1)!) as { source: string; summary: { from: string; mqtt: string } } };
    };
    let live = await ask();
    const end = Date.now() + 10_000;
    while (live.code === 0 && live.out.summary.mqtt !== 'connected' && Date.now() < end) live = await ask();
    t.equal(live.code, 0, live.stderr);
    const out = live.out;
    t.match(out.source, /^live from the daemon at http:\/\/127\.0\.0\.1:/, 'asks the running daemon');
    t.equal(out.summary.from, 'daemon');
    t.equal(out.summary.mqtt, 'connected');
  });
  t.equal(code, 0, 'clean exit on SIGTERM');
  t.notMatch(stderr, /"level":50/, 'no error logged');
  // the daemon is gone: status falls back to the data dir and says why
  const after = await cli(['status', '--config', cfg]);
  t.equal(after.code, 0);
  t.match(after.stdout, /read from .*daemon not reachable at http:\/\/127\.0\.0\.1:\d+/);

  // loopback (the default): no token
  writeFileSync(cfg, yaml('127.0.0.1'));
  await runDaemonOnce(t, cfg, async (log) => {
    t.match(log(), /status page on http:\/\/127\.0\.0\.1:\d+\/ \(loopback only, no token\)/);
    t.equal((await get(base + '/api/status')).status, 200, 'control: on loopback no token is needed');
  });
});

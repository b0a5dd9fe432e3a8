import t from 'tap';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createSigner, generateKeyPair } from '../../src/crypto/ed25519.js';
import { installBundle } from '../../src/bundle/slots.js';
import { validateConfig } from '../../src/config/load.js';
import type { Daemon } from '../../src/daemon/daemon.js';
import { readHealth } from '../../src/daemon/health-file.js';
import { buildRunDaemon } from '../../src/cli/commands/run.js';
import { systemClock } from '../../src/util/clock.js';
import { cli } from '../helpers/cli.js';
import { until } from '../helpers/until.js';
import { cliEntry } from '../daemon/helpers.js';
import { capturedLogger, makeFleet, startProvisioner, startSecureBroker } from '../fleet/fixtures.js';
import { makeBundle } from './make-bundle.js';

/** Every file under `dir` with its size and mtime, and every link target: what "nothing changed" compares. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p, { throwIfNoEntry: false });
      let link = '';
      try {
        link = readlinkSync(p);
      } catch {
        // not a link
      }
      out.push(`${p} ${st?.size ?? '?'} ${st?.mtimeMs ?? '?'} ${link}`);
      if (st?.isDirectory() && !link) walk(p);
    }
  };
  walk(dir);
  return out;
}

/**
 * Issue 11 item 4 end to end: the fleet-signed `update` command through a real broker, sent by the real
 * `h3lix fleet cmd`; the real `h3lix bundle install` as a detached process; the health check reads the
 * restarted daemon's health.json (broker connected, field loaded). The test plays systemd: the
 * installer's health command appends to a file, and the test then restarts the daemon (or, to model a
 * new version that never comes up, does not).
 */
t.test('update by fleet command: bad bundles refused with nothing changed; installed after a healthy restart; rolled back and not retried otherwise', async (t) => {
  const dir = t.testdir();
  const { logger } = capturedLogger();
  const fd = makeFleet(dir);
  const sb = await startSecureBroker(fd, logger);
  t.teardown(() => sb.broker.stop());
  const prov = await startProvisioner(fd, sb.broker.url, logger);
  t.teardown(() => prov.stop());

  const root = join(dir, 'opt');
  const v1 = await makeBundle({ out: dir, version: '1.0.0', signer: fd.fleetSigner(), target: 'linux-x64' });
  await installBundle({ file: v1.file, root, fleetPublicKey: fd.fleetPublicKey, health: async () => true, clock: systemClock });
  const restarts = join(dir, 'restarts');
  appendFileSync(restarts, '');
  const dataDir = join(dir, 'node');
  const config = validateConfig({
    node: { dataDir, fleet: fd.fleet, board: 'rpi-4' },
    broker: { embedded: { enabled: false }, url: sb.broker.url, reconnectMs: 100 },
    log: { level: 'silent' },
    fleet: { enabled: true, imageDir: fd.path('image', 'b1'), attemptTimeoutMs: 3000, maxAttempts: 3, backoffMs: 50 },
    update: { enabled: true, root, installer: [process.execPath, '--import', 'tsx', cliEntry], launcher: 'detached', healthCmd: `echo restart >> ${restarts}`, healthTimeoutSeconds: 4 },
  });
  let daemon: Daemon | undefined;
  let nodeId = '';
  const start = async (): Promise<void> => {
    const built = await buildRunDaemon({ config, logger, drainTimeoutMs: 200, jitterMs: 50 });
    daemon = built.daemon;
    await daemon.start();
    nodeId = daemon.context.nodeId;
  };
  t.teardown(() => daemon?.stop('test end'));
  await start();
  await until(() => readHealth(dataDir)?.brokerConnected === true, 10_000, 'health.json says connected');

  // The test as systemd: restart the daemon for the requests it is told to honour.
  let honoured = 0;
  const restart = async (): Promise<void> => {
    await daemon!.stop('restart');
    await start();
    honoured++;
  };
  const requests = (): number => readFileSync(restarts, 'utf8').split('\n').filter(Boolean).length;

  const cmd = async (name: string, args: Record<string, unknown>) => {
    const r = await cli(['fleet', 'cmd', nodeId, name, '--fleet-dir', fd.dir, '--broker', sb.broker.url, '--args', JSON.stringify(args), '--wait', '20', '--json']);
    const reply = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ok: boolean; error?: string; result?: Record<string, unknown> };
    t.equal(r.code, reply.ok ? 0 : 1, `fleet cmd ${name}: exit ${r.code} for ok=${reply.ok}`);
    return reply;
  };

  // 1. Refused before anything changes: another key's signature, another architecture, a bad sha256, a missing file.
  const before = snapshot(root);
  for (const d of ['forged', 'arm', 'v11', 'v12']) mkdirSync(join(dir, d));
  const forged = await makeBundle({ out: join(dir, 'forged'), version: '9.0.0', signer: createSigner(generateKeyPair()), target: 'linux-x64' });
  const arm = await makeBundle({ out: join(dir, 'arm'), version: '9.0.1', signer: fd.fleetSigner(), target: 'linux-arm64' });
  for (const [args, code] of [
    [{ source: forged.file }, 'BUNDLE_SIGNATURE'],
    [{ source: arm.file }, 'BUNDLE_ARCH'],
    [{ source: v1.file, sha256: '0'.repeat(64) }, 'BUNDLE_INVALID'],
    [{ source: join(dir, 'nope.tar.gz') }, 'BUNDLE_INVALID'],
    [{ source: 'relative/path.tar.gz' }, 'BUNDLE_INVALID'],
  ] as const) {
    const r = await cmd('update', args);
    t.equal(r.ok, false, `${JSON.stringify(args).slice(0, 60)} refused`);
    t.match(r.error, code, `with ${code}: ${r.error}`);
  }
  t.same(snapshot(root), before, 'the install root is untouched by every refusal');
  t.same(readdirSync(join(dataDir, 'updates')).filter((f) => f.endsWith('.tar.gz')), [], 'no staged bundle left behind');

  // 2. A good bundle: accepted, installed by the detached installer once the restarted daemon reports healthy.
  const v11 = await makeBundle({ out: join(dir, 'v11'), version: '1.1.0', signer: fd.fleetSigner(), target: 'linux-x64' });
  const ok = await cmd('update', { source: v11.file });
  t.equal(ok.ok, true, `accepted: ${ok.error ?? ''}`);
  t.equal(ok.result?.version, '1.1.0');
  await until(() => requests() >= 1, 30_000, 'the installer asks for a restart');
  await restart();
  const installed = await (async () => {
    for (;;) {
      const s = await cmd('update-status', {});
      if (s.result?.outcome !== 'installing') return s.result;
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  t.equal(installed?.outcome, 'installed', `installed: ${JSON.stringify(installed)}`);
  t.equal(JSON.parse(readFileSync(join(root, 'current', 'manifest.json'), 'utf8')).version, '1.1.0', 'current names the 1.1.0 slot');

  // 3. A version whose daemon never reports healthy (the test does not restart it): rolled back, reported, not retried.
  const v12 = await makeBundle({ out: join(dir, 'v12'), version: '1.2.0', signer: fd.fleetSigner(), target: 'linux-x64' });
  const acc = await cmd('update', { source: v12.file });
  t.equal(acc.ok, true, 'accepted (the bundle itself is fine)');
  await until(() => requests() >= 3, 40_000, 'the switch and the rollback each ask for a restart');
  await restart(); // the rollback's restart is honoured: the old version comes back
  const rolled = await (async () => {
    for (;;) {
      const s = await cmd('update-status', {});
      if (s.result?.outcome !== 'installing') return s.result;
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  t.equal(rolled?.outcome, 'rolled-back', `rolled back: ${JSON.stringify(rolled)}`);
  t.equal(JSON.parse(readFileSync(join(root, 'current', 'manifest.json'), 'utf8')).version, '1.1.0', 'current is back on 1.1.0');
  const again = await cmd('update', { source: v12.file });
  t.equal(again.ok, false, 'the failed version is not retried');
  t.match(again.error, /failed its health check on this board/);
  t.equal(honoured, 2);
  t.ok(existsSync(join(dataDir, 'health.json')));
});

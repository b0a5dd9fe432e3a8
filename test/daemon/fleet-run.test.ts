import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from '../helpers/cli.js';
import { capturedLogger, startProvisioner, startSecureBroker } from '../fleet/fixtures.js';
import { buildRunDaemon } from '../../src/cli/commands/run.js';
import { CcfField } from '../../src/ccf/field.js';
import { validateConfig } from '../../src/config/load.js';
import { FleetDir } from '../../src/fleet/fleet-dir.js';
import type { Daemon } from '../../src/daemon/daemon.js';
import type { FleetNode } from '../../src/fleet/fleet-node.js';
import { runDaemonOnce, until } from './helpers.js';


/** `h3lix fleet init` in-process; returns the opened fleet directory. */
async function initFleet(dir: string, extra: string[] = []): Promise<FleetDir> {
  const r = await cli(['fleet', 'init', '--fleet', 'f1', '--out', join(dir, 'fleet'), '--batch', 'b1', '--uses', '10', '--json', ...extra]);
  if (r.code !== 0) throw new Error(`fleet init failed: ${r.stderr}`);
  return FleetDir.open(join(dir, 'fleet'));
}

function boardConfig(dir: string, name: string, fd: FleetDir, url: string, extra: Record<string, unknown> = {}) {
  return {
    node: { dataDir: join(dir, name), fleet: fd.fleet, board: 'rpi-4' },
    broker: { embedded: { enabled: false }, url, reconnectMs: 100 },
    sync: { debounceMs: 20, digestIntervalMs: 1000 },
    log: { level: 'silent' },
    fleet: { enabled: true, imageDir: fd.path('image', 'b1'), attemptTimeoutMs: 2000, maxAttempts: 3, backoffMs: 50, ...extra },
  };
}

/** Fleet cmd through the CLI (operator side): returns the parsed reply. */
async function command(fd: FleetDir, url: string, node: string, name: string, args: object = {}): Promise<{ code: number; reply: { ok: boolean; result?: Record<string, unknown>; error?: string } | undefined }> {
  const r = await cli(['fleet', 'cmd', node, name, '--fleet-dir', fd.dir, '--broker', url, '--args', JSON.stringify(args), '--wait', '5', '--json']);
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  return { code: r.code, reply: last.startsWith('{') ? (JSON.parse(last) as { ok: boolean }) : undefined };
}

t.test('h3lix run composition in fleet mode: two boards provision, sync, answer commands; a revoked board stops counting', async (t) => {
  const dir = t.testdir();
  const { logger, text } = capturedLogger();
  const fd = await initFleet(dir);
  const sb = await startSecureBroker(fd, logger);
  t.teardown(() => sb.broker.stop());
  const prov = await startProvisioner(fd, sb.broker.url, logger);
  t.teardown(() => prov.stop());

  const boards: { daemon: Daemon; fleet: FleetNode }[] = [];
  for (const name of ['a', 'b']) {
    const { daemon, fleetNode } = await buildRunDaemon({ config: validateConfig(boardConfig(dir, name, fd, sb.broker.url)), logger, jitterMs: 100, drainTimeoutMs: 300 });
    t.ok(fleetNode, 'fleet mode builds a FleetNode');
    t.equal(fleetNode!.provisioned.fresh, true, `${name} provisioned on first boot`);
    await daemon.start();
    t.teardown(() => daemon.stop('test end'));
    boards.push({ daemon, fleet: fleetNode! });
  }
  const [a, b] = boards as [(typeof boards)[0], (typeof boards)[0]];
  t.equal(a.daemon.context.nodeId, a.fleet.nodeId, 'the daemon runs as the provisioned identity');
  t.equal(a.daemon.context.presence.certificate, Buffer.from(a.fleet.provisioned.certBytes).toString('base64'), 'the birth carries the certificate');
  t.equal(prov.stats.accepted, 2);

  // Sync: both contribute to a shared key, B also to a key only it has.
  a.daemon.context.field.contributeLocal('k', Float32Array.of(1, 0, 0, 0), 1);
  b.daemon.context.field.contributeLocal('k', Float32Array.of(0, 5, 5, 0), 1);
  b.daemon.context.field.contributeLocal('only-b', Float32Array.of(3, 3, 3, 3), 1);
  await until(() => a.daemon.context.field.size() === 3 && b.daemon.context.field.size() === 3, 10_000, 'both fields hold all contributions');
  t.equal(a.daemon.context.sync.counters.rejected.WIRE_BAD_SIGNATURE, undefined);
  const now = Date.now();
  t.ok(a.daemon.context.field.value('only-b', now), 'B counts in A before the revocation');
  const before = Array.from(a.daemon.context.field.value('k', now)!);

  // Commands over MQTT (cmd/<node> is subscribed by the transport; replies go out on the transport).
  const ping = await command(fd, sb.broker.url, a.fleet.nodeId, 'ping');
  t.equal(ping.code, 0, 'fleet cmd ping exits 0');
  t.equal(ping.reply?.ok, true, 'ping answered');
  t.equal(ping.reply?.result?.nodeId, a.fleet.nodeId);
  const sync = a.daemon.context.sync as unknown as { setCadence?: unknown; cadenceMultiplier?: () => number };
  const cad = await command(fd, sb.broker.url, a.fleet.nodeId, 'set-sync-cadence', { multiplier: 2 });
  if (typeof sync.setCadence === 'function') {
    t.equal(cad.reply?.ok, true, 'set-sync-cadence applied');
    t.equal(sync.cadenceMultiplier?.(), 2);
  } else {
    t.match(cad.reply?.error, /unsupported/, 'set-sync-cadence: unsupported without CcfSync.setCadence');
  }
  const bad = await command(fd, sb.broker.url, a.fleet.nodeId, 'set-sync-cadence', { multiplier: -1 });
  t.equal(bad.reply?.ok, false, 'a bad multiplier is refused');
  const evo = await command(fd, sb.broker.url, a.fleet.nodeId, 'trigger-evolution', { reason: 'test' });
  if (a.daemon.context.events.listenerCount('evolutionRequested') === 0) t.match(evo.reply?.error, /unsupported/, 'trigger-evolution without a learning feature');
  else t.equal(evo.reply?.ok, true);
  const requested: string[] = [];
  const off = b.daemon.context.events.on('evolutionRequested', (r) => requested.push(r));
  const evoB = await command(fd, sb.broker.url, b.fleet.nodeId, 'trigger-evolution', { reason: 'drift' });
  off();
  t.equal(evoB.reply?.ok, true, 'trigger-evolution emits the daemon event when something listens');
  t.same(requested, ['drift']);

  // Revoke B with the CLI: the retained list reaches A over its fleet subscription.
  const rv = await cli(['fleet', 'revoke', b.fleet.nodeId, '--fleet-dir', fd.dir, '--broker', sb.broker.url]);
  t.equal(rv.code, 0, 'fleet revoke');
  await until(() => a.fleet.isRevoked(b.fleet.nodeId), 5000, 'A learns the revocation');
  t.equal(a.daemon.context.field.value('only-b', Date.now()), undefined, "B's earlier contribution stops counting in A's value");
  const ref = new CcfField({ nodeId: 'ref', clock: a.daemon.context.clock, config: a.daemon.context.config.ccf, quantization: a.daemon.context.config.sync.quantization });
  ref.merge([a.daemon.context.field.get(a.fleet.nodeId, 'k')!]);
  const after = Array.from(a.daemon.context.field.value('k', now)!);
  t.same(after, Array.from(ref.value('k', now)!), "A's value of k is A's alone");
  t.not(after.join(), before.join(), 'and differs from the value with B');
  t.notOk(a.daemon.context.field.deltaSince({}).some((c) => c.origin === b.fleet.nodeId), 'A does not relay B');
  await until(() => !b.daemon.context.transport.connected, 5000, 'the broker drops the revoked board');
  b.daemon.context.field.contributeLocal('late', Float32Array.of(9, 9, 9, 9), 1);
  a.daemon.context.field.contributeLocal('after', Float32Array.of(1, 1, 1, 1), 1);
  await new Promise((r) => setTimeout(r, 500));
  t.equal(a.daemon.context.field.get(b.fleet.nodeId, 'late'), undefined, 'nothing new from the revoked board');
  t.notMatch(text(), /"level":(50|60)/, 'no error logs');
});

t.test('h3lix run (child process) in fleet mode: provisions, answers ping, SIGTERM exits 0; the second start reuses the certificate', async (t) => {
  const dir = t.testdir();
  const { logger } = capturedLogger();
  const fd = await initFleet(dir);
  const sb = await startSecureBroker(fd, logger);
  t.teardown(() => sb.broker.stop());
  const prov = await startProvisioner(fd, sb.broker.url, logger);
  t.teardown(() => prov.stop());
  const cfg = join(dir, 'h3lix.yaml');
  writeFileSync(cfg, JSON.stringify({ ...boardConfig(dir, 'c', fd, sb.broker.url), log: { level: 'info' } }));
  let nodeId = '';
  const first = await runDaemonOnce(t, cfg, async (stderr) => {
    nodeId = /"nodeId":"([^"]+)","fleet":"f1","serial"/.exec(stderr())?.[1] ?? '';
    t.ok(nodeId, 'fleet identity logged');
    const ping = await command(fd, sb.broker.url, nodeId, 'ping');
    t.equal(ping.reply?.ok, true, 'the child daemon answers ping over MQTT');
  });
  t.equal(first.code, 0, 'exit 0 after SIGTERM');
  t.match(first.stderr, /"fresh":true/, 'first boot provisioned');
  t.match(first.stderr, /"fleetMode":true/);
  const second = await runDaemonOnce(t, cfg, async () => undefined);
  t.equal(second.code, 0);
  t.match(second.stderr, /"fresh":false/, 'second boot used the stored certificate');
  t.equal(prov.stats.accepted, 1, 'one provisioning round trip in all');
});

t.test('h3lix run in fleet mode without a provisioner exits 69 with PROVISION_TIMEOUT', async (t) => {
  const dir = t.testdir();
  const { logger } = capturedLogger();
  const fd = await initFleet(dir);
  const sb = await startSecureBroker(fd, logger);
  t.teardown(() => sb.broker.stop());
  const cfg = join(dir, 'h3lix.yaml');
  writeFileSync(cfg, JSON.stringify(boardConfig(dir, 'd', fd, sb.broker.url, { attemptTimeoutMs: 200, maxAttempts: 2 })));
  const r = await cli(['run', '--config', cfg]);
  t.equal(r.code, 69, 'EX_UNAVAILABLE');
  t.match(r.stderr, /fleet provisioning failed, not starting/);
  t.match(r.stderr, /PROVISION_TIMEOUT/);
});

t.test('h3lix run in fleet mode with a claim for other boards exits 1 with PROVISION_REJECTED and the reason', async (t) => {
  const dir = t.testdir();
  const { logger } = capturedLogger();
  const fd = await initFleet(dir, ['--boards', 'esp32-s3']);
  const sb = await startSecureBroker(fd, logger);
  t.teardown(() => sb.broker.stop());
  const prov = await startProvisioner(fd, sb.broker.url, logger);
  t.teardown(() => prov.stop());
  const cfg = join(dir, 'h3lix.yaml');
  writeFileSync(cfg, JSON.stringify(boardConfig(dir, 'e', fd, sb.broker.url)));
  const r = await cli(['run', '--config', cfg]);
  t.equal(r.code, 1, 'exit 1 (failed)');
  t.match(r.stderr, /fleet provisioning failed, not starting/);
  t.match(r.stderr, /PROVISION_REJECTED.*rpi-4/);
  t.equal(prov.stats.accepted, 0);
});

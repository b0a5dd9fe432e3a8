import t from 'tap';
import { join } from 'node:path';
import { readFileSync, statSync, readdirSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import mqtt from 'mqtt';
import { cli } from '../helpers/cli.js';
import { capturedLogger, provisionOne, startProvisioner, startSecureBroker, until } from './fixtures.js';
import { FleetDir } from '../../src/fleet/fleet-dir.js';
import { CommandRouter } from '../../src/fleet/commands.js';
import { CertificateKeyResolver } from '../../src/fleet/cert-resolver.js';
import { nodeBrokerAuth } from '../../src/fleet/board.js';
import { createSigner } from '../../src/crypto/ed25519.js';
import { systemClock } from '../../src/util/clock.js';
import { readFileChecked } from '../../src/store/atomic-file.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

t.test('fleet init: image vs operator files, 0600 keys, never printed, no overwrite', async (t) => {
  const dir = t.testdir();
  const out = join(dir, 'f');
  const r = await cli(['fleet', 'init', '--fleet', 'solar', '--out', out, '--batch', 'b1', '--uses', '3', '--expires', '10', '--broker', 'mqtt://10.0.0.2:1883', '--json']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /board image/);
  t.match(r.stdout, /keep with the operator/);
  const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as { image: string[]; operator: string[]; fleetPublicKey: string };
  t.ok(summary.image.some((p) => p.endsWith('claim.json')) && summary.operator.some((p) => p.endsWith('fleet.key')));
  t.notOk(summary.image.some((p) => p.includes('private')), 'no private operator file in the image list');
  for (const f of filesUnder(out)) if (!f.endsWith('fleet.json') && !f.endsWith('.pem')) t.equal(statSync(f).mode & 0o777, 0o600, `${f} is 0600`);
  // TLS certificates are public like fleet.json (0644); none holds a key
  const pems = filesUnder(out).filter((f) => f.endsWith('.pem'));
  t.same(pems.map((f) => f.slice(out.length)).sort(), ['/image/b1/claim-cert.pem', '/image/b1/fleet-ca.pem', '/tls/ca.pem'], 'the CA and the claim certificate');
  for (const f of pems) t.notMatch(readFileSync(f, 'utf8'), /PRIVATE KEY/, `${f} holds no key`);
  const seed = (JSON.parse(Buffer.from(readFileChecked(join(out, 'private', 'fleet.key'))!).toString()) as { seed: string }).seed;
  const claimSeed = (JSON.parse(Buffer.from(readFileChecked(join(out, 'image', 'b1', 'claim.json'))!).toString()) as { claimSeed: string }).claimSeed;
  for (const k of [seed, claimSeed]) {
    const hex = Buffer.from(k, 'base64').toString('hex');
    t.notOk(r.stdout.includes(k) || r.stdout.includes(hex) || r.stderr.includes(k) || r.stderr.includes(hex), 'private key never printed');
  }
  const again = await cli(['fleet', 'init', '--fleet', 'solar', '--out', out]);
  t.not(again.code, 0);
  t.match(again.stderr, /refusing to overwrite/);
  t.equal(JSON.parse(readFileSync(join(out, 'fleet.json'), 'utf8').split('\n#h3lix')[0]!).fleetPublicKey, summary.fleetPublicKey, 'existing fleet untouched');
  const bad = await cli(['fleet', 'init', '--fleet', 'a/b', '--out', join(dir, 'g')]);
  t.equal(bad.code, 64, 'bad fleet name is a usage error');
  const batch = await cli(['fleet', 'batch', '--fleet-dir', out, '--batch', 'b2', '--uses', '5']);
  t.equal(batch.code, 0, batch.stderr);
  t.equal(FleetDir.open(out).claimState('b2')?.maxUses, 5);
  const acl = await cli(['fleet', 'acl', '--format', 'mosquitto', '--fleet-dir', out, '--out', join(dir, 'acl')]);
  t.equal(acl.code, 0, acl.stderr);
  t.equal(statSync(join(dir, 'acl', 'passwd')).mode & 0o777, 0o600);
  t.match(readFileSync(join(dir, 'acl', 'acl'), 'utf8'), /pattern write h3lix\/v1\/solar\/ccf\/delta\/%u/);
  t.match(readFileSync(join(dir, 'acl', 'passwd'), 'utf8'), /^provisioner:\$7\$101\$/m);
  const tlsAcl = await cli(['fleet', 'acl', '--fleet-dir', out, '--out', join(dir, 'acl-tls'), '--tls', 'mqtt.example.org,10.0.0.2', '--tls-port', '8884']);
  t.equal(tlsAcl.code, 0, tlsAcl.stderr);
  const conf = readFileSync(join(dir, 'acl-tls', 'mosquitto-auth.conf'), 'utf8').split('\n');
  t.equal(conf[0], 'listener 8884', 'the TLS listener comes first (the per-listener options that follow apply to it)');
  for (const want of ['require_certificate true', 'use_identity_as_username true', 'use_username_as_clientid true', 'allow_anonymous false']) t.ok(conf.includes(want), want);
  for (const f of ['cafile', 'certfile', 'keyfile', 'crlfile']) t.ok(conf.some((l) => l.startsWith(`${f} ${join(dir, 'acl-tls')}/`)), `${f} in the output directory`);
  t.equal(statSync(join(dir, 'acl-tls', 'server.key')).mode & 0o777, 0o600, 'server key 0600');
  t.match(new X509Certificate(readFileSync(join(dir, 'acl-tls', 'server.pem'))).subjectAltName ?? '', /DNS:mqtt\.example\.org.*IP Address:10\.0\.0\.2/, 'server certificate for the given names');
  t.match(tlsAcl.stdout, /boards use mqtts:\/\/mqtt\.example\.org:8884/);
  const noOut = await cli(['fleet', 'acl', '--fleet-dir', out, '--tls', 'x']);
  t.equal(noOut.code, 64, '--tls without --out is a usage error');
  const wrongFormat = await cli(['fleet', 'acl', '--format', 'emqx', '--fleet-dir', out]);
  t.equal(wrongFormat.code, 64);
});

t.test('manual approval, revoke and signed commands through the CLI', async (t) => {
  const dir = t.testdir();
  const { logger } = capturedLogger();
  const init = await cli(['fleet', 'init', '--fleet', 'f1', '--out', join(dir, 'fleet'), '--batch', 'b1', '--uses', '5']);
  t.equal(init.code, 0, init.stderr);
  const fd = FleetDir.open(join(dir, 'fleet'));
  const sb = await startSecureBroker(fd, logger);
  t.teardown(() => sb.broker.stop());
  const prov = await startProvisioner(fd, sb.broker.url, logger, { manual: true, pollMs: 20 });
  t.teardown(() => prov.stop());

  const approved = provisionOne(fd, join(dir, 'a'), sb.broker.url, logger, { attempts: 1, timeoutMs: 8000 });
  const rejected = provisionOne(fd, join(dir, 'r'), sb.broker.url, logger, { attempts: 1, timeoutMs: 8000 }).then(
    () => undefined,
    (err: unknown) => err,
  );
  await until(() => fd.pendingAll().length === 2, 5000, 'two pending requests');
  const listed = await cli(['fleet', 'list', '--fleet-dir', fd.dir, '--pending', '--json']);
  const pending = (JSON.parse(listed.stdout.trim().split('\n').pop()!) as { pending: { requestId: string; nodeId: string }[] }).pending;
  t.equal(pending.length, 2);
  const aId = JSON.parse(Buffer.from(readFileChecked(join(dir, 'a', 'identity.json'))!).toString()).nodeId as string;
  const aReq = pending.find((p) => p.nodeId === aId)!;
  const rReq = pending.find((p) => p.nodeId !== aId)!;
  t.equal((await cli(['fleet', 'approve', aReq.requestId, '--fleet-dir', fd.dir])).code, 0);
  t.equal((await cli(['fleet', 'reject', rReq.requestId, '--fleet-dir', fd.dir, '--reason', 'unknown serial'])).code, 0);
  const board = await approved;
  t.equal(board.result.certificate.nodeId, aId, 'approved board got its certificate');
  t.match(await rejected, { code: 'PROVISION_REJECTED', message: /unknown serial/ }, 'rejected board learns the reason');
  t.equal(fd.claimState('b1')?.uses, 1, 'only the approved board used the claim');
  t.equal((await cli(['fleet', 'approve', 'nope', '--fleet-dir', fd.dir])).code, 65, 'approving an unknown request fails');

  // The node runs a command router on its own connection.
  const auth = nodeBrokerAuth(board.identity, board.result.credentials, 'token', Date.now());
  const node = await mqtt.connectAsync(sb.broker.url, { clientId: `h3lix-f1-${aId}`, ...auth, reconnectPeriod: 0 });
  t.teardown(() => node.endAsync(true));
  const router = new CommandRouter({ fleet: 'f1', fleetPublicKey: fd.fleetPublicKey, nodeId: aId, nodeSigner: createSigner(board.identity.signing), publish: (topic, bytes) => node.publishAsync(topic, Buffer.from(bytes), { qos: 1 }).then(() => undefined), clock: systemClock, logger });
  let cadence = 0;
  router.register('set-sync-cadence', (args) => {
    cadence = Number(args.seconds);
    return { seconds: cadence };
  });
  node.on('message', (topic, payload) => {
    if (topic === router.topic) void router.handle(new Uint8Array(payload));
  });
  await node.subscribeAsync(router.topic, { qos: 1 });
  const cmd = await cli(['fleet', 'cmd', aId, 'set-sync-cadence', '--fleet-dir', fd.dir, '--broker', sb.broker.url, '--args', '{"seconds":30}', '--json']);
  t.equal(cmd.code, 0, cmd.stdout + cmd.stderr);
  t.equal(cadence, 30, 'the handler ran');
  t.match(JSON.parse(cmd.stdout.trim().split('\n').pop()!), { ok: true, result: { seconds: 30 } });
  const unknown = await cli(['fleet', 'cmd', aId, 'self-destruct', '--fleet-dir', fd.dir, '--broker', sb.broker.url]);
  t.equal(unknown.code, 1, 'unknown command replies with a failure');
  t.match(unknown.stdout, /COMMAND_REFUSED/);

  // Revoke: the retained list reaches a resolver and the broker drops the node's connection.
  const resolver = new CertificateKeyResolver({ fleet: 'f1', fleetPublicKey: fd.fleetPublicKey, clock: systemClock, logger });
  resolver.learnCertificate(board.result.certBytes);
  t.ok(resolver.resolve(aId));
  const watcher = await provisionOne(fd, join(dir, 'w'), sb.broker.url, logger, { attempts: 1, timeoutMs: 300 }).catch(() => undefined);
  t.notOk(watcher, 'manual mode: an unapproved board times out');
  const rev = await cli(['fleet', 'revoke', aId, '--fleet-dir', fd.dir, '--broker', sb.broker.url, '--reason', 'stolen']);
  t.equal(rev.code, 0, rev.stderr);
  const listener = await mqtt.connectAsync(sb.broker.url, { clientId: 'h3lix-operator-rev-listener', username: 'provisioner', password: (await import('../../src/fleet/tokens.js')).makeProvisionerToken(fd.fleetSigner(), Date.now() + 60_000), reconnectPeriod: 0 });
  t.teardown(() => listener.endAsync(true));
  listener.on('message', (topic, payload) => resolver.handleMessage(topic, new Uint8Array(payload)));
  await listener.subscribeAsync(`h3lix/v1/f1/fleet/revocations`, { qos: 1 });
  await until(() => resolver.isRevoked(aId), 3000, 'revocation applied');
  t.throws(() => resolver.resolve(aId), { code: 'WIRE_REVOKED' }, 'a revoked node no longer resolves: WIRE_REVOKED');
  await until(() => node.disconnected || !node.connected, 3000, 'revoked node disconnected');
  t.pass('broker disconnected the revoked node');
  t.equal((await cli(['fleet', 'revoke', aId, '--fleet-dir', fd.dir])).code, 65, 'revoking twice is refused');
  const serve = await cli(['fleet', 'serve', '--fleet-dir', fd.dir, '--broker', sb.broker.url, '--duration-ms', '200', '--log-level', 'warn']);
  t.equal(serve.code, 0, serve.stderr);
  t.match(serve.stdout, /provisioner stopped: 0 accepted/);
  const down = await cli(['fleet', 'serve', '--fleet-dir', fd.dir, '--broker', 'mqtt://127.0.0.1:1', '--duration-ms', '200']);
  t.equal(down.code, 69, 'broker down exits UNAVAILABLE');
  const help = await cli(['fleet', '--help']);
  t.match(help.stdout, /init.*\n[\s\S]*serve[\s\S]*approve[\s\S]*acl[\s\S]*revoke[\s\S]*cmd/);
  const list = await cli(['fleet', 'list', '--fleet-dir', fd.dir]);
  t.match(list.stdout, new RegExp(`node +${aId}.*revoked`));
});

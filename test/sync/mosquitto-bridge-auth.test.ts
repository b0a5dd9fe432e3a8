import t, { type Test } from 'tap';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { pbkdf2Sync, X509Certificate } from 'node:crypto';
import mqtt from 'mqtt';
import { cli } from '../helpers/cli.js';
import { freePort, startMosquitto, MOSQUITTO_BIN, type MosquittoHandle } from '../helpers/mosquitto.js';
import { makeFleet } from '../fleet/fixtures.js';
import { operatorTls } from '../../src/fleet/tls-files.js';
import { clientTlsOptions } from '../../src/sync/tls.js';
import type { FleetDir } from '../../src/fleet/fleet-dir.js';

/**
 * Issue 10 item 2: a site Mosquitto bridged into a fleet-mode Mosquitto (allow_anonymous false, the
 * acl_file and password_file of `h3lix fleet acl`) with the bridge user that `h3lix fleet bridge
 * --fleet-dir` records: a password bridge and a mutual-TLS bridge (CN h3lix-bridge-<site>).
 * A state message published on the site reaches the operator on the fleet broker, and a command the
 * operator publishes reaches the site. Negative controls: a wrong bridge password, and a fleet ACL
 * without the bridge's user block (password and TLS): nothing crosses.
 */
const skip = MOSQUITTO_BIN ? false : 'mosquitto is not installed (Debian mosquitto)';
const conf = (path: string) => readFileSync(path, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));

async function ok(t: Test, args: string[]): Promise<string> {
  const r = await cli(args);
  t.equal(r.code, 0, `h3lix ${args.slice(0, 2).join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function broker(t: Test, lines: string[], port?: number): Promise<MosquittoHandle> {
  const m = (await startMosquitto([...lines, `user ${userInfo().username}`, 'log_type all'], port))!;
  t.teardown(() => m.stop());
  return m;
}

async function client(t: Test, url: string, o: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
  const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...o });
  t.teardown(() => c.endAsync());
  return c;
}

/** Messages on `filter` received by `c`. */
async function collect(c: mqtt.MqttClient, filter: string): Promise<string[]> {
  const got: string[] = [];
  c.on('message', (topic, payload) => got.push(`${topic} ${payload.toString()}`));
  await c.subscribeAsync(filter, { qos: 1 });
  return got;
}

/** Publish every 100 ms until `cond` holds (the bridge connects on its own schedule), at most `ms`. */
async function publishUntil(c: mqtt.MqttClient, topic: string, cond: () => boolean, ms: number): Promise<number> {
  const end = Date.now() + ms;
  let n = 0;
  while (!cond() && Date.now() < end) {
    await c.publishAsync(topic, `m${n++}`, { qos: 1 });
    await new Promise((r) => setTimeout(r, 100));
  }
  return n;
}

interface Tree {
  fd: FleetDir;
  fleetBroker: MosquittoHandle;
  site: MosquittoHandle;
  /** The operator on the fleet broker. */
  operator: mqtt.MqttClient;
  tls: boolean;
}

/**
 * Fleet `f1`, a recorded bridge for site north, the fleet broker from `fleet acl --out` (with `--tls`
 * its mutual-TLS listener), the site broker from `fleet bridge --out`. `tamper` edits the generated files first.
 */
async function tree(t: Test, tls: boolean, tamper: { bridgeConf?: (l: string[]) => string[]; dropBridgeUser?: boolean; dropAclBlock?: boolean } = {}): Promise<Tree> {
  const dir = t.testdir();
  const fd = makeFleet(dir);
  const port = await freePort();
  const out = join(dir, 'site-north', 'h3lix-bridge.conf');
  mkdirSync(join(dir, 'site-north'));
  await ok(t, ['fleet', 'bridge', '--fleet-dir', fd.dir, '--site', 'north', '--remote', `127.0.0.1:${port}`, '--out', out, ...(tls ? ['--tls'] : [])]);
  if (tamper.dropBridgeUser) rmSync(fd.path('state', 'bridges', 'north.json'));
  const auth = join(dir, 'fleet-auth');
  await ok(t, ['fleet', 'acl', '--fleet-dir', fd.dir, '--out', auth, ...(tls ? ['--tls', '127.0.0.1', '--tls-port', String(port)] : [])]);
  if (tamper.dropAclBlock) {
    // keep the password line, drop the ACL user block `fleet acl` wrote for the bridge
    const acl = readFileSync(join(auth, 'acl'), 'utf8');
    const stripped = acl.replace(/# site bridge north[^\n]*\nuser h3lix-bridge-north\n[^\n]*\n/, '');
    t.not(stripped, acl, 'the bridge block was there to drop');
    writeFileSync(join(auth, 'acl'), stripped);
  }
  const fleetLines = conf(join(auth, 'mosquitto-auth.conf'));
  const fleetBroker = await broker(t, tls ? fleetLines : [`listener ${port} 127.0.0.1`, ...fleetLines], port);
  let bridge = conf(out);
  if (tamper.bridgeConf) bridge = tamper.bridgeConf(bridge);
  const site = await broker(t, bridge);
  const url = tls ? `mqtts://127.0.0.1:${port}` : fleetBroker.url;
  const login = tls ? clientTlsOptions(await operatorTls(fd, 'operator', Date.now())) : { password: fd.provisionerPassword() };
  const operator = await client(t, url, { username: 'operator', ...login });
  return { fd, fleetBroker, site, operator, tls };
}

async function crosses(t: Test, tr: Tree): Promise<void> {
  const up = await collect(tr.operator, 'h3lix/v1/f1/state/+');
  const onSite = await client(t, tr.site.url);
  const down = await collect(onSite, 'h3lix/v1/f1/cmd/+');
  await publishUntil(onSite, 'h3lix/v1/f1/state/n1', () => up.length > 0, 10_000);
  t.match(up[0], /^h3lix\/v1\/f1\/state\/n1 m\d+$/, 'a state message published on the site reaches the operator on the fleet broker');
  await publishUntil(tr.operator, 'h3lix/v1/f1/cmd/n1', () => down.length > 0, 5000);
  t.match(down[0], /^h3lix\/v1\/f1\/cmd\/n1 m\d+$/, 'a command published on the fleet broker reaches the site');
  t.match(tr.fleetBroker.log(), /as h3lix-bridge-north .*u'h3lix-bridge-north'/, 'the fleet broker knows the bridge as h3lix-bridge-north');
}

/** Wait until the `where` broker's log shows `refused`, then publish for 1.5 s more: nothing may arrive. */
async function staysApart(t: Test, tr: Tree, where: 'site' | 'fleetBroker', refused: RegExp, what: string): Promise<void> {
  const up = await collect(tr.operator, 'h3lix/v1/f1/state/+');
  const onSite = await client(t, tr.site.url);
  await publishUntil(onSite, 'h3lix/v1/f1/state/n1', () => refused.test(tr[where].log()), 10_000);
  t.match(tr[where].log(), refused, what);
  const t0 = Date.now();
  await publishUntil(onSite, 'h3lix/v1/f1/state/n1', () => Date.now() - t0 > 1500, 3000);
  t.same(up, [], 'nothing published on the site reached the fleet broker');
}

t.test('password bridge: fleet acl emits the user fleet bridge recorded', { skip }, async (t) => {
  const tr = await tree(t, false);
  const acl = readFileSync(join(tr.fd.dir, '..', 'fleet-auth', 'acl'), 'utf8');
  t.match(acl, /user h3lix-bridge-north\ntopic readwrite h3lix\/v1\/f1\/#\n/, 'the ACL grants the bridge user the fleet tree');
  t.match(readFileSync(join(tr.fd.dir, '..', 'fleet-auth', 'passwd'), 'utf8'), /^h3lix-bridge-north:\$7\$/m, 'hashed in the password file like the other users');
  const pw = conf(join(tr.fd.dir, '..', 'site-north', 'h3lix-bridge.conf')).find((l) => l.startsWith('remote_password '))?.slice(16);
  t.ok(pw && pw.length >= 32, 'the site conf holds a generated password');
  t.notOk(JSON.stringify(tr.fd.bridge('north')).includes(pw!), 'the fleet directory holds its hash, not the password');
  await crosses(t, tr);
});

t.test('negative control: the same bridge with a wrong password does not forward', { skip }, async (t) => {
  const tr = await tree(t, false, { bridgeConf: (l) => l.map((x) => (x.startsWith('remote_password ') ? 'remote_password wrong' : x)) });
  await staysApart(t, tr, 'site', /Connection Refused: not authorised/, 'the fleet broker refused the bridge login (site broker log)');
  t.notMatch(tr.fleetBroker.log(), /as h3lix-bridge-north/, 'the bridge never got a session on the fleet broker');
});

t.test('negative control: the bridge logs in but its user block is not in the fleet ACL, nothing forwarded', { skip }, async (t) => {
  const tr = await tree(t, false, { dropAclBlock: true });
  await staysApart(t, tr, 'fleetBroker', /Denied PUBLISH from h3lix-bridge-north/, 'the fleet broker denied the bridge its publish (pattern lines only)');
});

t.test('TLS bridge: client certificate CN h3lix-bridge-north on the fleet acl --tls listener', { skip }, async (t) => {
  const tr = await tree(t, true);
  const lines = conf(join(tr.fd.dir, '..', 'site-north', 'h3lix-bridge.conf'));
  t.ok(['bridge_cafile', 'bridge_certfile', 'bridge_keyfile'].every((k) => lines.some((l) => l.startsWith(`${k} `))), 'the site conf names the CA, certificate and key');
  t.notOk(lines.some((l) => l.startsWith('remote_password')), 'and holds no password');
  await crosses(t, tr);
});

t.test('negative control: TLS bridge not recorded in the fleet directory (no ACL block) does not forward', { skip }, async (t) => {
  const tr = await tree(t, true, { dropBridgeUser: true });
  await staysApart(t, tr, 'fleetBroker', /Denied PUBLISH from h3lix-bridge-north/, 'the certificate is accepted but the ACL denies the bridge');
});

t.test('bad arguments are refused with the reason, and nothing is recorded', async (t) => {
  const fd = makeFleet(t.testdir());
  const base = ['fleet', 'bridge', '--fleet-dir', fd.dir, '--remote', '127.0.0.1:1883'];
  const cases: [string[], RegExp][] = [
    [['--site', 'north', '--remote-username', 'u'], /generated/],
    [['--site', 'north', '--tls'], /--tls needs --out/],
    [['--site', 'north', '--files-dir', '/etc/mosquitto'], /--files-dir goes with --tls/],
    [['--site', 'no/rth'], /--site/],
    [['--site', 'x'.repeat(51)], /1-50/],
  ];
  for (const [extra, why] of cases) {
    const r = await cli([...base, ...extra]);
    t.not(r.code, 0, `refused: ${extra.join(' ')}`);
    t.match(r.stderr, why, 'and says why');
  }
  const r = await cli(['fleet', 'bridge', '--fleet', 'f1', '--site', 'north', '--remote', '127.0.0.1:1883', '--tls']);
  t.match(r.stderr, /--tls needs --fleet-dir/, 'a hand-configured fleet broker has no CA here');
  t.same(fd.bridges(), [], 'no bridge was recorded');
});

t.test('fleet acl emits what fleet bridge recorded (no Mosquitto needed)', async (t) => {
  const dir = t.testdir();
  const fd = makeFleet(dir);
  const before = await ok(t, ['fleet', 'acl', '--fleet-dir', fd.dir]);
  t.notMatch(before, /h3lix-bridge-/, 'no bridge user before a bridge is recorded');
  const pwConf = await ok(t, ['fleet', 'bridge', '--fleet-dir', fd.dir, '--site', 'north', '--remote', '10.0.0.1:1883']);
  const password = /^remote_password (\S+)$/m.exec(pwConf)?.[1];
  t.match(pwConf, /^remote_username h3lix-bridge-north$/m, 'the bridge logs in as h3lix-bridge-north');
  await ok(t, ['fleet', 'bridge', '--fleet-dir', fd.dir, '--site', 'south', '--remote', '10.0.0.1:8883', '--tls', '--out', join(dir, 'south.conf')]);
  const acl = await ok(t, ['fleet', 'acl', '--fleet-dir', fd.dir]);
  for (const site of ['north', 'south']) t.match(acl, new RegExp(`user h3lix-bridge-${site}\\ntopic readwrite h3lix/v1/f1/#\\n`), `ACL block for ${site}`);
  const hash = /^h3lix-bridge-north:(\S+)$/m.exec(acl)?.[1];
  t.ok(hash, 'a password line for the password bridge');
  const [, iter, salt, dk] = hash!.split('$').slice(1);
  t.equal(pbkdf2Sync(password!, Buffer.from(salt!, 'base64'), Number(iter), 64, 'sha512').toString('base64'), dk, 'the hash is of the password written into the site conf');
  t.notMatch(acl, /^h3lix-bridge-south:/m, 'none for the TLS bridge (it logs in with its certificate)');
  const cert = new X509Certificate(readFileSync(join(dir, 'h3lix-bridge-south.pem')));
  t.match(cert.subject, /CN=h3lix-bridge-south/, 'the TLS bridge certificate names h3lix-bridge-south');
  t.ok(cert.checkIssued(new X509Certificate(readFileSync(fd.path('tls', 'ca.pem')))), 'issued by the fleet CA');
});

import t from 'tap';
import { hasCommand } from '../helpers/has-command.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { generateKeyPair } from '../../src/crypto/ed25519.js';
import { FleetDir } from '../../src/fleet/fleet-dir.js';
import { cli } from '../helpers/cli.js';
import { makeBundle } from './make-bundle.js';

const has = hasCommand;

async function setup(): Promise<{ dir: string; bundle: string; claim: string; config: string; fleetJson: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'h3lix-image-'));
  const pair = generateKeyPair();
  FleetDir.create(join(dir, 'fleet'), { format: 'h3lix-fleet', v: 1, fleet: 'solar', fleetPublicKey: Buffer.from(pair.publicKey).toString('base64'), brokerUrl: 'mqtt://10.0.0.2:1883', createdAt: 0 }, pair.seed);
  const fleet = FleetDir.open(join(dir, 'fleet'));
  const { file } = await makeBundle({ out: dir, version: '1.0.0', signer: fleet.fleetSigner() });
  // A board image directory as `h3lix fleet init` lays it out (fleet.json + claim.json).
  const img = join(dir, 'fleet', 'image', 'batch1');
  execFileSync('mkdir', ['-p', img]);
  writeFileSync(join(img, 'fleet.json'), readFileSync(join(dir, 'fleet', 'fleet.json')));
  writeFileSync(join(img, 'claim.json'), '{"format":"h3lix-claim-file","secret":"claim-seed-bytes"}');
  const config = join(dir, 'h3lix.yaml');
  writeFileSync(config, 'node:\n  board: rpi-zero-2w\n  fleet: solar\nfleet:\n  imageDir: /etc/h3lix/fleet\n');
  return { dir, bundle: file, claim: join(img, 'claim.json'), config, fleetJson: join(img, 'fleet.json') };
}

t.test('image config writes a cloud-init seed and firstrun.sh that place the bundle, config and claim', async (t) => {
  const s = await setup();
  const out = join(s.dir, 'boot');
  const r = await cli(['image', 'config', '--bundle', s.bundle, '--config', s.config, '--claim', s.claim, '--out', out, '--hostname', 'pi-17', '--wifi-ssid', 'farm', '--wifi-password', 'sunshine1']);
  t.equal(r.code, 0, r.stderr);
  const userData = readFileSync(join(out, 'user-data'), 'utf8');
  t.match(userData, /^#cloud-config\n/);
  const doc = parse(userData) as { hostname: string; users: unknown[]; write_files: { path: string; content: string; permissions: string; owner: string; defer: boolean }[]; runcmd: string[][] };
  t.equal(doc.hostname, 'pi-17');
  t.match(doc.users[1], { name: 'h3lix', system: true, groups: 'dialout' }, 'service user with serial access');
  const claim = doc.write_files.find((f) => f.path === '/etc/h3lix/fleet/claim.json')!;
  t.match(claim, { permissions: '0600', owner: 'h3lix:h3lix', defer: true }, 'claim 0600, owned by the service user');
  t.equal(Buffer.from(claim.content, 'base64').toString(), readFileSync(s.claim, 'utf8'), 'the claim bytes verbatim');
  const cfg = doc.write_files.find((f) => f.path === '/etc/h3lix/h3lix.yaml')!;
  t.equal(Buffer.from(cfg.content, 'base64').toString(), readFileSync(s.config, 'utf8'));
  const script = Buffer.from(doc.write_files.find((f) => f.path === '/usr/local/sbin/h3lix-firstboot')!.content, 'base64').toString();
  const sha = execFileSync('sha256sum', [s.bundle]).toString().split(' ')[0]!;
  t.match(script, new RegExp(`echo "${sha}  \\$bundle" \\| sha256sum -c -`), 'the bundle sha256 is pinned');
  t.match(script, /bundle install "\$bundle" --root \/opt\/h3lix --fleet-key "\$work\/fleet.json"/);
  t.match(script, /--board rpi-zero-2w/);
  t.match(script, /systemctl enable h3lix.service/);
  t.same(doc.runcmd, [['/usr/local/sbin/h3lix-firstboot']]);
  const net = parse(readFileSync(join(out, 'network-config'), 'utf8')) as { network: { version: number; wifis: Record<string, { 'access-points': Record<string, unknown> }> } };
  t.equal(net.network.version, 2);
  t.ok(net.network.wifis.wlan0!['access-points'].farm);
  t.equal(statSync(join(out, 'user-data')).mode & 0o777, 0o600, 'user-data holds the claim: 0600');
  t.equal(readFileSync(join(out, 'h3lix', 'h3lix-1.0.0-linux-arm64.tar.gz')).length, readFileSync(s.bundle).length, 'bundle copied');
  // Both scripts are valid shell.
  execFileSync('sh', ['-n', '-c', script]);
  execFileSync('bash', ['-n', join(out, 'firstrun.sh')]);
  const firstrun = readFileSync(join(out, 'firstrun.sh'), 'utf8');
  t.match(firstrun, /chmod 0600 '\/etc\/h3lix\/fleet\/claim.json'/);
  t.match(firstrun, /sed -i 's\| systemd.run/, 'removes itself from cmdline.txt');
});

t.test('cloud-init schema accepts the user-data', { skip: has('cloud-init') ? false : 'cloud-init not installed (Debian cloud-init)' }, async (t) => {
  const s = await setup();
  const out = join(s.dir, 'boot');
  t.equal((await cli(['image', 'config', '--bundle', s.bundle, '--config', s.config, '--claim', s.claim, '--out', out])).code, 0);
  const ok = execFileSync('cloud-init', ['schema', '--config-file', join(out, 'user-data')], { encoding: 'utf8' });
  t.match(ok, /Valid cloud-config/);
  // Negative control: the validator does reject a broken key.
  writeFileSync(join(out, 'broken'), readFileSync(join(out, 'user-data'), 'utf8').replace('runcmd:', 'runcmd: 5\nx_runcmd:'));
  t.throws(() => execFileSync('cloud-init', ['schema', '--config-file', join(out, 'broken')], { stdio: 'pipe' }), 'a wrong type is reported');
});

t.test('image config refuses a bundle the fleet key does not verify, and bad arguments', async (t) => {
  const s = await setup();
  const other = generateKeyPair();
  const strange = join(s.dir, 'strange');
  FleetDir.create(strange, { format: 'h3lix-fleet', v: 1, fleet: 'x', fleetPublicKey: Buffer.from(other.publicKey).toString('base64'), brokerUrl: 'mqtt://h:1', createdAt: 0 }, other.seed);
  const r = await cli(['image', 'config', '--bundle', s.bundle, '--config', s.config, '--fleet-key', join(strange, 'fleet.json'), '--out', join(s.dir, 'o1')]);
  t.not(r.code, 0);
  t.match(r.stderr, /BUNDLE_SIGNATURE/);
  const noKey = await cli(['image', 'config', '--bundle', s.bundle, '--config', s.config, '--out', join(s.dir, 'o2')]);
  t.equal(noKey.code, 64);
  const host = await cli(['image', 'config', '--bundle', s.bundle, '--config', s.config, '--claim', s.claim, '--out', join(s.dir, 'o3'), '--hostname', 'Bad Name']);
  t.match(host.stderr, /--hostname must be a DNS label/);
});

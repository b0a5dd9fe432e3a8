import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSigner, generateKeyPair } from '../../src/crypto/ed25519.js';
import { archMismatch, elfIdent } from '../../src/bundle/elf.js';
import { readTarGz } from '../../src/bundle/tar-read.js';
import { writeTarGz } from '../../src/bundle/tar-write.js';
import { BUNDLE_TARGETS } from '../../src/bundle/targets.js';
import { installBundle } from '../../src/bundle/slots.js';
import { scanBundle } from '../../src/bundle/verify.js';
import { ManualClock } from '../../src/util/clock.js';
import { fakeElf, makeBundle, type Tamper } from './make-bundle.js';

const fleet = createSigner(generateKeyPair());
const stranger = createSigner(generateKeyPair());
const arm64 = BUNDLE_TARGETS['linux-arm64'];
const x64 = BUNDLE_TARGETS['linux-x64'];

/** Every path under `dir` with its sha256 (directories too): "nothing changed on disk" means equal snapshots. */
function snapshot(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const d of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) out.push(`${p}/`, ...snapshot(dir, p));
    else if (d.isSymbolicLink()) out.push(`${p} -> link`);
    else out.push(`${p} ${createHash('sha256').update(readFileSync(join(dir, p))).digest('hex')} ${statSync(join(dir, p)).mtimeMs}`);
  }
  return out;
}

t.test('tar: what the writer packs the reader returns, long paths (pax) included', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'h3lix-tar-'));
  const long = `root/${'deep/'.repeat(30)}file.js`;
  const big = Buffer.alloc(70_000, 7);
  await writeTarGz(join(dir, 'x.tar.gz'), [
    { path: 'root/a.txt', mode: 0o644, size: 5, data: Buffer.from('hello') },
    { path: long, mode: 0o755, size: big.length, data: big },
    { path: 'root/empty', mode: 0o644, size: 0, data: Buffer.alloc(0) },
  ], 1);
  const seen: Record<string, { size: number; mode: number; bytes: number }> = {};
  await readTarGz(join(dir, 'x.tar.gz'), (h) => {
    let bytes = 0;
    return { data: (c) => void (bytes += c.length), end: () => void (seen[h.path] = { size: h.size, mode: h.mode, bytes }) };
  });
  t.same(Object.keys(seen), ['root/a.txt', long, 'root/empty']);
  t.equal(seen[long]!.bytes, big.length);
  t.equal(seen[long]!.mode, 0o755);
  // A flipped header byte fails the checksum; a cut-off archive is reported truncated.
  const raw = readFileSync(join(dir, 'x.tar.gz'));
  const { gunzipSync, gzipSync } = await import('node:zlib');
  const tar = gunzipSync(raw);
  const bad = Buffer.from(tar);
  bad[10] ^= 1;
  writeFileSync(join(dir, 'bad.tar.gz'), gzipSync(bad));
  await t.rejects(readTarGz(join(dir, 'bad.tar.gz'), () => ({ data: () => undefined, end: () => undefined })), { code: 'BUNDLE_INVALID', message: /checksum/ });
  writeFileSync(join(dir, 'cut.tar.gz'), gzipSync(tar.subarray(0, 1024)));
  await t.rejects(readTarGz(join(dir, 'cut.tar.gz'), () => ({ data: () => undefined, end: () => undefined })), { code: 'BUNDLE_INVALID', message: /truncated/ });
});

t.test('elf: the header check tells the targets apart and refuses non-ELF addons', async (t) => {
  t.equal(archMismatch(elfIdent(fakeElf(arm64)), arm64, true), undefined);
  t.match(archMismatch(elfIdent(fakeElf(x64)), arm64, true), /x86-64.*aarch64/);
  t.match(archMismatch(elfIdent(Buffer.from('\xcf\xfa\xed\xfe'.repeat(8), 'latin1')), arm64, true), /not an ELF/);
  t.equal(archMismatch(elfIdent(Buffer.from('plain text, not native, fine')), arm64, false), undefined);
});

t.test('a good bundle verifies; each kind of bad bundle is refused with its reason', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'h3lix-verify-'));
  const good = await makeBundle({ out: dir, version: '1.0.0', signer: fleet });
  const m = await scanBundle(good.file, { fleetPublicKey: fleet.publicKey, target: arm64 });
  t.equal(m.version, '1.0.0');
  // Negative control for the target check: the same bundle is refused for the other platform.
  await t.rejects(scanBundle(good.file, { fleetPublicKey: fleet.publicKey, target: x64 }), { code: 'BUNDLE_ARCH', message: /linux-arm64.*linux-x64/ });
  // ... and for the key check: the right bundle under another fleet's key.
  await t.rejects(scanBundle(good.file, { fleetPublicKey: stranger.publicKey }), { code: 'BUNDLE_SIGNATURE' });

  const cases: [string, Tamper | { files: Record<string, Buffer> }, RegExp, string][] = [
    ['signed by another key', { signer: stranger }, /does not verify/, 'BUNDLE_SIGNATURE'],
    ['a file altered after signing', { alter: 'bin/h3lix.js' }, /bin\/h3lix.js: sha256 differs/, 'BUNDLE_INVALID'],
    ['a listed file missing', { omit: 'node_modules/addon/build/addon.node' }, /missing from the tarball: node_modules\/addon/, 'BUNDLE_INVALID'],
    ['an unlisted file', { extra: 'evil.sh' }, /evil.sh: in the tarball but not in the signed manifest/, 'BUNDLE_INVALID'],
    ['manifest not first', { manifestLast: true }, /manifest.json must be entry 1/, 'BUNDLE_INVALID'],
    ['an x86-64 addon in an arm64 bundle', { files: { 'node_modules/x/x.node': fakeElf(x64) } }, /x\.node: ELF x86-64/, 'BUNDLE_ARCH'],
    ['a Mach-O addon', { files: { 'node_modules/x/mac.node': Buffer.from('\xcf\xfa\xed\xfe'.repeat(16), 'latin1') } }, /mac\.node: not an ELF/, 'BUNDLE_ARCH'],
  ];
  const installRoot = mkdtempSync(join(tmpdir(), 'h3lix-root-'));
  const clock = new ManualClock(0);
  await installBundle({ root: installRoot, file: good.file, fleetPublicKey: fleet.publicKey, target: arm64, clock, health: async () => true });
  const before = snapshot(installRoot);
  for (const [i, [what, spoil, reason, code]] of cases.entries()) {
    const sub = mkdtempSync(join(dir, `case${i}-`));
    const b = 'files' in spoil ? await makeBundle({ out: sub, version: '1.1.0', signer: fleet, files: spoil.files }) : await makeBundle({ out: sub, version: '1.1.0', signer: fleet, tamper: spoil });
    await t.rejects(scanBundle(b.file, { fleetPublicKey: fleet.publicKey, target: arm64 }), { code, message: reason }, what);
    await t.rejects(installBundle({ root: installRoot, file: b.file, fleetPublicKey: fleet.publicKey, target: arm64, clock, health: async () => true }), { code }, `install refuses: ${what}`);
    t.same(snapshot(installRoot), before, `nothing changed on disk: ${what}`);
  }
  // Negative control for "before anything changes": extracting while verifying (one pass) leaves a
  // partial slot behind for the same bad bundle, which the snapshot comparison sees.
  const b = await makeBundle({ out: mkdtempSync(join(dir, 'np-')), version: '1.2.0', signer: fleet, tamper: { omit: 'node_modules/addon/build/addon.node' } });
  await t.rejects(installBundle({ root: installRoot, file: b.file, fleetPublicKey: fleet.publicKey, target: arm64, clock, health: async () => true, singlePass: true }), { code: 'BUNDLE_INVALID' });
  t.not(snapshot(installRoot).join('\n'), before.join('\n'), 'the one-pass installer did change the disk');
});

t.test('bundle CLI: verify reports OK or the reason, with exit codes', async (t) => {
  const { cli } = await import('../helpers/cli.js');
  const { FleetDir } = await import('../../src/fleet/fleet-dir.js');
  const dir = mkdtempSync(join(tmpdir(), 'h3lix-vcli-'));
  const pair = generateKeyPair();
  FleetDir.create(join(dir, 'fleet'), { format: 'h3lix-fleet', v: 1, fleet: 'vt', fleetPublicKey: Buffer.from(pair.publicKey).toString('base64'), brokerUrl: 'mqtt://127.0.0.1:1883', createdAt: 0 }, pair.seed);
  const signer = FleetDir.open(join(dir, 'fleet')).fleetSigner();
  const good = await makeBundle({ out: dir, version: '2.0.0', signer });
  const ok = await cli(['bundle', 'verify', good.file, '--fleet-key', join(dir, 'fleet', 'fleet.json'), '--expect', 'linux-arm64']);
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, /OK \(h3lix-edge 2\.0\.0, linux-arm64/);
  const wrong = await cli(['bundle', 'verify', good.file, '--fleet-key', join(dir, 'fleet', 'fleet.json'), '--expect', 'linux-x64']);
  t.not(wrong.code, 0);
  t.match(wrong.stderr, /BUNDLE_ARCH/);
  const usage = await cli(['bundle', '--target', 'linux-arm64']);
  t.equal(usage.code, 64);
  const badTarget = await cli(['bundle', '--target', 'riscv', '--out', dir, '--fleet-dir', join(dir, 'fleet')]);
  t.match(badTarget.stderr, /unknown bundle target "riscv"/);
});

t.test('bundle CLI: install, confirm, recover, rollback on an A/B root', async (t) => {
  const { cli } = await import('../helpers/cli.js');
  const { FleetDir } = await import('../../src/fleet/fleet-dir.js');
  const { hostTarget } = await import('../../src/bundle/targets.js');
  const host = hostTarget();
  if (!host) {
    t.skip(`no bundle target for ${process.platform}-${process.arch}`, () => undefined);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'h3lix-icli-'));
  const pair = generateKeyPair();
  FleetDir.create(join(dir, 'fleet'), { format: 'h3lix-fleet', v: 1, fleet: 'it', fleetPublicKey: Buffer.from(pair.publicKey).toString('base64'), brokerUrl: 'mqtt://127.0.0.1:1883', createdAt: 0 }, pair.seed);
  const signer = FleetDir.open(join(dir, 'fleet')).fleetSigner();
  const v1 = await makeBundle({ out: dir, version: '1.0.0', signer, target: host.name });
  const v2 = await makeBundle({ out: dir, version: '1.1.0', signer, target: host.name });
  const root = join(dir, 'opt');
  const key = join(dir, 'fleet', 'fleet.json');
  const i1 = await cli(['bundle', 'install', v1.file, '--root', root, '--fleet-key', key, '--health-cmd', 'true']);
  t.equal(i1.code, 0, i1.stderr);
  t.match(JSON.parse(i1.stdout), { outcome: 'installed', version: '1.0.0', slot: 'a' });
  const bad = await cli(['bundle', 'install', v2.file, '--root', root, '--fleet-key', key, '--health-cmd', 'false']);
  t.equal(bad.code, 1, 'a failed health check exits 1');
  t.match(JSON.parse(bad.stdout), { outcome: 'rolled-back', version: '1.1.0', slot: 'a', previous: '1.0.0' });
  const again = await cli(['bundle', 'install', v2.file, '--root', root, '--fleet-key', key, '--health-cmd', 'true']);
  t.match(again.stderr, /UPDATE_FAILED: version 1.1.0 failed its health check/);
  const forced = await cli(['bundle', 'install', v2.file, '--root', root, '--fleet-key', key, '--health-cmd', 'true', '--force']);
  t.match(JSON.parse(forced.stdout), { outcome: 'installed', slot: 'b' });
  t.match(JSON.parse((await cli(['bundle', 'recover', '--root', root])).stdout), { action: 'none', slot: 'b', version: '1.1.0' });
  t.match(JSON.parse((await cli(['bundle', 'confirm', '--root', root])).stdout), { confirmed: false, slot: 'b' });
  t.match(JSON.parse((await cli(['bundle', 'rollback', '--root', root])).stdout), { action: 'rolled-back', slot: 'a', version: '1.0.0' });
});

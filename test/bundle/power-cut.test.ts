import t from 'tap';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSigner, generateKeyPair } from '../../src/crypto/ed25519.js';
import { PowerCut, cutAfter, realSlotFs } from '../../src/bundle/slot-fs.js';
import { confirmSlot, currentSlot, installBundle, readState, recoverSlots, slotManifest, type SlotContext } from '../../src/bundle/slots.js';
import { BUNDLE_TARGETS } from '../../src/bundle/targets.js';
import { ManualClock } from '../../src/util/clock.js';
import { makeBundle } from './make-bundle.js';

const fleet = createSigner(generateKeyPair());
const arm64 = BUNDLE_TARGETS['linux-arm64'];
const clock = new ManualClock(0);

/** What runs after a reboot: the version `current` names, if that slot is whole (every file hashes to its manifest). */
function runningVersion(c: SlotContext): string | undefined {
  const slot = currentSlot(c);
  if (!slot) return undefined;
  const m = slotManifest(c, slot);
  if (!m) return undefined;
  for (const f of m.files) {
    const p = join(c.root, slot, f.path);
    if (!existsSync(p) || createHash('sha256').update(readFileSync(p)).digest('hex') !== f.sha256) return undefined;
  }
  return m.version;
}

const files: Record<string, Buffer> = {};
for (let i = 0; i < 12; i++) files[`dist/src/part-${i}.js`] = Buffer.from(`export const part = ${i};\n`.repeat(50 + i));

t.test('a power cut at any step of an update leaves the old or the new version whole and running', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'h3lix-cut-'));
  const v1 = await makeBundle({ out: dir, version: '1.0.0', signer: fleet, files });
  const v2 = await makeBundle({ out: dir, version: '1.1.0', signer: fleet, files: { ...files, 'dist/src/new.js': Buffer.from('export {};\n') } });
  const template = join(dir, 'template');
  await installBundle({ root: template, file: v1.file, fleetPublicKey: fleet.publicKey, target: arm64, clock, health: async () => true });
  t.equal(runningVersion({ root: template, clock }), '1.0.0');

  // Count the steps of an uninterrupted update, then cut at every one of them.
  const counting = cutAfter(realSlotFs, Number.MAX_SAFE_INTEGER);
  const dry = join(dir, 'dry');
  cpSync(template, dry, { recursive: true, verbatimSymlinks: true });
  await installBundle({ root: dry, file: v2.file, fleetPublicKey: fleet.publicKey, target: arm64, clock, health: async () => true, fs: counting });
  const total = counting.steps();
  t.ok(total >= 50, `an update has ${total} durable steps (>= 50 cut points)`);

  const outcomes = new Map<string, number>();
  for (let k = 0; k <= total; k++) {
    const root = join(dir, `cut-${k}`);
    cpSync(template, root, { recursive: true, verbatimSymlinks: true });
    const c = { root, clock };
    let cut = false;
    try {
      await installBundle({ ...c, file: v2.file, fleetPublicKey: fleet.publicKey, target: arm64, health: async () => true, fs: cutAfter(realSlotFs, k) });
    } catch (err) {
      if (!(err instanceof PowerCut)) throw err;
      cut = true;
    }
    // Reboot: ExecStartPre recovers, the daemon starts from `current` and, healthy, confirms.
    const rec = recoverSlots(c);
    const after = runningVersion(c);
    if (after !== '1.0.0' && after !== '1.1.0') {
      t.fail(`cut at step ${k}: neither version runs (recovery ${rec.action})`);
      continue;
    }
    confirmSlot(c);
    // A second reboot changes nothing: no loop, no flip-flop.
    t.equal(recoverSlots(c).action, 'none', `cut ${k}: the second boot is a plain boot`);
    t.equal(runningVersion(c), after, `cut ${k}: still ${after}`);
    outcomes.set(`${cut ? 'cut' : 'done'}:${after}`, (outcomes.get(`${cut ? 'cut' : 'done'}:${after}`) ?? 0) + 1);
    rmSync(root, { recursive: true, force: true });
  }
  t.ok((outcomes.get('cut:1.0.0') ?? 0) > 0 && (outcomes.get('cut:1.1.0') ?? 0) > 0, `both outcomes occur across the cut points: ${JSON.stringify([...outcomes])}`);
  t.equal(outcomes.get('done:1.1.0'), 1, 'the uncut run installed 1.1.0');
});

t.test('negative control: a non-atomic switch (unlink, then symlink) leaves a dead board at some cut point', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'h3lix-cutneg-'));
  const v1 = await makeBundle({ out: dir, version: '1.0.0', signer: fleet });
  const v2 = await makeBundle({ out: dir, version: '1.1.0', signer: fleet });
  const template = join(dir, 'template');
  await installBundle({ root: template, file: v1.file, fleetPublicKey: fleet.publicKey, target: arm64, clock, health: async () => true });
  let dead = 0;
  for (let k = 0; k < 40; k++) {
    const root = join(dir, `cut-${k}`);
    cpSync(template, root, { recursive: true, verbatimSymlinks: true });
    await installBundle({ root, clock, file: v2.file, fleetPublicKey: fleet.publicKey, target: arm64, health: async () => true, fs: cutAfter(realSlotFs, k), unsafeSwitch: true }).catch((err: unknown) => {
      if (!(err instanceof PowerCut)) throw err;
    });
    recoverSlots({ root, clock });
    if (runningVersion({ root, clock }) === undefined) dead++;
  }
  t.ok(dead > 0, `${dead} cut point(s) leave no runnable version when the switch is not atomic`);
});

t.test('a failed health check rolls back, is reported, and the version is not retried', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'h3lix-health-'));
  const root = join(dir, 'root');
  const c = { root, clock };
  const v1 = await makeBundle({ out: dir, version: '1.0.0', signer: fleet });
  const v2 = await makeBundle({ out: dir, version: '1.1.0', signer: fleet });
  await installBundle({ ...c, file: v1.file, fleetPublicKey: fleet.publicKey, target: arm64, health: async () => true });
  let checks = 0;
  const r = await installBundle({ ...c, file: v2.file, fleetPublicKey: fleet.publicKey, target: arm64, health: async () => (checks++ === 0 ? false : true) });
  t.equal(r.outcome, 'rolled-back');
  t.match(r.reason, /health check failed/);
  t.equal(runningVersion(c), '1.0.0');
  t.equal(checks, 2, 'the old version was restarted and checked once');
  t.equal(readState(c).failed[0]?.version, '1.1.0');
  await t.rejects(installBundle({ ...c, file: v2.file, fleetPublicKey: fleet.publicKey, target: arm64, health: async () => true }), { code: 'UPDATE_FAILED', message: /not retried/ });
  const forced = await installBundle({ ...c, file: v2.file, fleetPublicKey: fleet.publicKey, target: arm64, health: async () => true, force: true });
  t.equal(forced.outcome, 'installed');
  t.equal(runningVersion(c), '1.1.0');
  // A trial boot that never confirms (the installer dies during the check, the new daemon never sends
  // READY so ExecStartPost never confirms): the first boot runs it on trial, the next rolls it back.
  const v3 = await makeBundle({ out: dir, version: '1.2.0', signer: fleet });
  let switched!: () => void;
  const atHealth = new Promise<void>((r) => (switched = r));
  void installBundle({ ...c, file: v3.file, fleetPublicKey: fleet.publicKey, target: arm64, health: () => (switched(), new Promise<boolean>(() => undefined)) });
  await atHealth;
  const v5 = await makeBundle({ out: dir, version: '1.3.0', signer: fleet });
  await t.rejects(installBundle({ ...c, file: v5.file, fleetPublicKey: fleet.publicKey, target: arm64, health: async () => true }), { code: 'UPDATE_FAILED', message: /still on trial/ }, 'no second update over the known-good slot during a trial');
  t.equal(recoverSlots(c).action, 'trial-boot');
  t.equal(runningVersion(c), '1.2.0');
  t.equal(recoverSlots(c).action, 'rolled-back', 'a started-but-unconfirmed trial is rolled back');
  t.equal(runningVersion(c), '1.1.0');
  t.equal(readState(c).failed.at(-1)?.version, '1.2.0');
  // Store schema: an update the running version could not read after a rollback is refused.
  const v4 = await makeBundle({ out: dir, version: '2.0.0', signer: fleet, storeSchema: 99 });
  await t.rejects(installBundle({ ...c, file: v4.file, fleetPublicKey: fleet.publicKey, target: arm64, health: async () => true }), { code: 'UPDATE_FAILED', message: /schema 99/ });
});

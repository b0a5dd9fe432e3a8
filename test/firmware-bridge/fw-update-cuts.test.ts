import t from 'tap';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '../../src/util/clock.js';
import { provisionNvFlash } from '../../firmware-bridge/src/firmware/nv-flash.js';
import { updateFirmware, type UpdateStep } from '../../firmware-bridge/src/firmware/update.js';
import type { FirmwareImage } from '../../firmware-bridge/src/firmware/image.js';
import type { RunningFirmware } from '../../firmware-bridge/src/firmware/run.js';
import { firmwareSkipReason } from './firmware-helpers.js';
import { corruptingConnector } from './fw-update-corrupt.js';
import { bootQemu, buildVariant, connector, fleetKey, probe, signedImage } from './fw-update-helpers.js';

// The key test of issue 13 item 5: a power cut (SIGKILL of QEMU) at any instant of an update leaves an
// MCU that boots the old or the new image and answers the protocol. The update flash is a host file the
// firmware reaches through semihosting, so it survives the kill as flash survives a power cut.
const skip = firmwareSkipReason('qemu');

/** A cut: at the first step of `kind` (chunks: the first at or past `offset`), kill QEMU after `delayMs` (0: before the step's request). */
interface Cut {
  kind: UpdateStep['kind'];
  offset?: number;
  delayMs: number;
  /** Start from the flash as a cut just before FW_FINISH left it (the update is past this point otherwise). */
  restore?: boolean;
  /** Keep the flash after this cut as the state `restore` returns to. */
  snapshot?: boolean;
}

interface Outcome {
  cut: Cut;
  fired: boolean;
  booted: boolean;
  version?: string;
  state?: string;
}

class PowerCut extends Error {}

/** Run the update once per cut, each time resuming on the flash the previous cut left, then once to the end. */
async function campaign(o: { dir: string; nv: string; image: FirmwareImage; cuts: Cut[]; bootDir?: string }): Promise<{ outcomes: Outcome[]; final?: string; resumedAt: number[] }> {
  const pty = join(o.dir, 'ttyMCU');
  const outcomes: Outcome[] = [];
  const resumedAt: number[] = [];
  let fw: RunningFirmware | undefined = await bootQemu(pty, o.nv, o.bootDir);
  if (!fw) throw new Error('factory image does not boot');
  const snap = `${o.nv}.snapshot`;
  for (const cut of o.cuts) {
    if (cut.restore) {
      await fw.kill();
      copyFileSync(snap, o.nv);
      const restored = await bootQemu(pty, o.nv, o.bootDir);
      if (!restored) throw new Error('the snapshot does not boot');
      fw = restored;
    }
    let fired = false;
    let killed: Promise<void> | undefined;
    const current = fw;
    // On a loaded machine a request can time out before the cut point is reached: the updater then ends
    // without a cut, and the same cut is tried again (at most 3 runs) on the same flash.
    for (let run = 0; run < 3 && !fired; run++) {
      const abort = new AbortController();
      const beforeStep = (s: UpdateStep) => {
        if (fired || s.kind !== cut.kind || (s.kind === 'chunk' && s.offset < (cut.offset ?? 0))) return;
        fired = true;
        if (cut.delayMs === 0) {
          killed = current.kill();
          abort.abort();
          throw new PowerCut('cut');
        }
        killed = new Promise((r) => setTimeout(r, cut.delayMs)).then(() => {
          abort.abort();
          return current.kill();
        });
      };
      await updateFirmware({
        image: o.image, fleetPublicKey: fleetKey.publicKey, connect: connector(pty, 300, 2), clock: systemClock,
        reconnects: 2, reconnectDelayMs: 100, bootTimeoutMs: 3000, beforeStep, signal: abort.signal,
        onProgress: (p) => (p.phase === 'resume' && p.offset ? resumedAt.push(p.offset) : undefined),
      }).catch(() => undefined);
    }
    if (killed) await killed;
    else await current.kill();
    if (cut.snapshot) copyFileSync(o.nv, snap);
    fw = await bootQemu(pty, o.nv, o.bootDir);
    const outcome: Outcome = { cut, fired, booted: Boolean(fw) };
    if (fw) Object.assign(outcome, await probe(pty).catch(() => ({ booted: false })));
    outcomes.push(outcome);
    if (!fw) break; // bricked: the campaign has found what it looks for
  }
  let final: string | undefined;
  if (fw) {
    const r = await updateFirmware({ image: o.image, fleetPublicKey: fleetKey.publicKey, connect: connector(pty, 300, 2), clock: systemClock }).catch((e: Error) => e);
    await fw.kill();
    const again = await bootQemu(pty, o.nv, o.bootDir);
    if (again) {
      const p = await probe(pty);
      final = `${p.version} ${p.state}${r instanceof Error ? ` (${r.message})` : ''}`;
      await again.stop();
    }
  }
  return { outcomes, final, resumedAt };
}

/** 40 cuts spread over the chunks, and cuts around begin, finish, reset (into the boot stage), health check and confirm. */
function plan(size: number): Cut[] {
  const cuts: Cut[] = [{ kind: 'begin', delayMs: 0 }, { kind: 'begin', delayMs: 1 }];
  for (let i = 0; i < 40; i++) cuts.push({ kind: 'chunk', offset: Math.floor((size * i) / 40), delayMs: i % 5 }); // 0..4 ms: many land mid-request
  cuts.push({ kind: 'finish', delayMs: 1 }, { kind: 'finish', delayMs: 3 }, { kind: 'finish', delayMs: 0, snapshot: true });
  // past FW_FINISH every cut starts again from the snapshot (all chunks received, FW_FINISH not yet sent)
  for (const d of [0, 1, 2, 3, 5, 8, 12, 20, 30, 50]) cuts.push({ kind: 'reset', delayMs: d, restore: true }); // the boot stage runs in these
  cuts.push({ kind: 'health', delayMs: 0, restore: true }, { kind: 'health', delayMs: 2, restore: true }, { kind: 'confirm', delayMs: 0, restore: true }, { kind: 'confirm', delayMs: 1, restore: true }, { kind: 'confirm', delayMs: 3, restore: true });
  return cuts;
}

t.test('a power cut at any of 60 instants of an update leaves a bootable MCU (real firmware under QEMU)', { skip, timeout: 240_000 }, async (t) => {
  const dir = t.testdir();
  const oldDir = buildVariant('upd-v1.1.0');
  const newDir = buildVariant('upd-v1.2.0', { fw: '-DFW_MINOR=2' });
  const nv = join(dir, 'nv.bin');
  provisionNvFlash(nv, signedImage(oldDir, [1, 1, 0]).bytes);
  const image = signedImage(newDir, [1, 2, 0]);
  const cuts = plan(image.bytes.length);
  t.ok(cuts.length >= 50, `${cuts.length} cut points`);
  const { outcomes, final, resumedAt } = await campaign({ dir, nv, image, cuts });
  const label = (o: Outcome) => `${o.cut.kind}${o.cut.offset !== undefined ? `@${o.cut.offset}` : ''}+${o.cut.delayMs}ms`;
  t.equal(outcomes.length, cuts.length, 'every cut ran');
  for (const o of outcomes) {
    t.ok(o.fired, `${label(o)}: the cut happened`);
    t.ok(o.booted, `${label(o)}: boots after the cut`);
    t.ok(o.version === '1.1.0' || o.version === '1.2.0', `${label(o)}: runs the old or the new image (${o.version} ${o.state})`);
  }
  // before FW_FINISH completes nothing new can run; a cut during the trial (before the confirm) reverts
  for (const o of outcomes.filter((x) => x.cut.kind === 'begin' || x.cut.kind === 'chunk')) t.equal(o.version, '1.1.0', `${label(o)}: still the old image`);
  for (const o of outcomes.filter((x) => x.cut.kind === 'health')) t.equal(o.version, '1.1.0', `${label(o)}: the unconfirmed trial reverted`);
  const late = outcomes.filter((x) => x.cut.kind === 'reset' || x.cut.kind === 'confirm');
  t.ok(late.some((o) => o.version === '1.1.0') && late.some((o) => o.version === '1.2.0'), 'cuts around the reset and the confirm land on both sides');
  const byVersion = outcomes.reduce<Record<string, number>>((a, o) => ({ ...a, [`${o.version} ${o.state}`]: (a[`${o.version} ${o.state}`] ?? 0) + 1 }), {});
  t.comment(`after ${outcomes.length} cuts: ${JSON.stringify(byVersion)}; transfers resumed at a saved offset ${resumedAt.length} times`);
  t.ok(resumedAt.length >= 20, `transfers resume where the flash says (${resumedAt.length} resumes)`);
  t.equal(final, '1.2.0 idle', 'the update completes after all the cuts, and the new image stays confirmed across a restart');
});

t.test('negative control: with the boot stage\'s revert switched off, an image that hangs bricks the MCU', { skip, timeout: 120_000 }, async (t) => {
  const dir = t.testdir();
  const oldDir = buildVariant('upd-v1.1.0');
  const brickDir = buildVariant('upd-brick', { fw: '-DFW_MINOR=3', test: '-DH3LIX_TEST_BRICK' });
  const noRevert = buildVariant('upd-norevert', { test: '-DH3LIX_TEST_NO_REVERT' });
  const brick = signedImage(brickDir, [1, 3, 0]);
  const cuts: Cut[] = [{ kind: 'health', delayMs: 0 }, { kind: 'health', delayMs: 0 }];
  for (const [name, bootDir, bricked] of [['revert on', oldDir, false], ['revert off', noRevert, true]] as const) {
    const nv = join(dir, `${name}.bin`);
    provisionNvFlash(nv, signedImage(oldDir, [1, 1, 0]).bytes);
    // the brick never answers: the updater reaches no health step, so cut right after the reset instead
    const { outcomes } = await campaign({ dir, nv, image: brick, bootDir, cuts: cuts.map(() => ({ kind: 'reset', delayMs: 300 })) });
    const first = outcomes[0]!;
    if (bricked) t.notOk(first.booted, `${name}: the cut-point test finds an unbootable MCU`);
    else t.ok(first.booted && first.version === '1.1.0', `${name}: the cut reverts to 1.1.0 (${first.version})`);
  }
});

t.test('negative control: with the MCU\'s SHA-256 check switched off, a corrupted transfer is accepted and boots into garbage', { skip, timeout: 120_000 }, async (t) => {
  const dir = t.testdir();
  for (const [name, variant, test] of [['check on', 'upd-v1.1.0', ''], ['check off', 'upd-nodigest', '-DH3LIX_TEST_NO_DIGEST']] as const) {
    const oldDir = buildVariant(variant, { test });
    const newDir = buildVariant(`${variant}-v1.2.0`, { fw: '-DFW_MINOR=2', test });
    const nv = join(dir, `${name}.bin`);
    provisionNvFlash(nv, signedImage(oldDir, [1, 1, 0]).bytes);
    const pty = join(dir, `tty-${variant}`);
    const fw = await bootQemu(pty, nv, oldDir);
    t.ok(fw, `${name}: factory image boots`);
    // flip the new image's reset vector on its way to the MCU (after the host's checks, under the frame CRC)
    const r = await updateFirmware({ image: signedImage(newDir, [1, 2, 0]), fleetPublicKey: fleetKey.publicKey, connect: corruptingConnector(pty, 128 + 5), clock: systemClock, bootTimeoutMs: 2000 }).catch((e: Error & { code?: string }) => e);
    t.type(r, Error, `${name}: the update does not succeed`);
    const answering = await probe(pty).then((p) => p.version, () => undefined);
    if (test) t.equal(answering, undefined, `${name}: FW_FINISH accepted the bad image and the MCU runs garbage (${(r as Error).message})`);
    else {
      t.match((r as Error).message, /SHA-256 of the received image does not match/, `${name}: FW_FINISH refuses`);
      t.equal(answering, '1.1.0', `${name}: the MCU still runs 1.1.0`);
    }
    await fw!.kill();
  }
});

import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { H3lixError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import { MANIFEST_FILE, manifestSchema, type BundleManifest } from './manifest.js';
import { realSlotFs, type SlotFs } from './slot-fs.js';
import type { BundleTarget } from './targets.js';
import { scanBundle } from './verify.js';

/**
 * A/B install root (docs/bundle.md "Updates"):
 *   <root>/a, <root>/b     two unpacked, verified bundles
 *   <root>/current         symlink to `a` or `b`; replaced by rename(2), so it always names one whole slot
 *   <root>/state.json      pending trial, previous slot, versions that failed their health check
 *   <root>/<slot>.incoming a slot being unpacked (removed by recovery; never pointed to)
 */
export type Slot = 'a' | 'b';

export interface SlotState {
  previous?: Slot;
  /** An installed slot on trial: confirmed by a healthy start, rolled back otherwise. */
  pending?: { slot: Slot; version: string; from?: Slot; booted: boolean };
  failed: { version: string; at: number; reason: string }[];
}

export interface SlotContext {
  root: string;
  clock: Clock;
  /** Default: the real file system. */
  fs?: SlotFs;
}

/** A health check after the switch: resolves true when the new version reported healthy in time. */
export type HealthCheck = () => Promise<boolean>;

const other = (s: Slot): Slot => (s === 'a' ? 'b' : 'a');

export function currentSlot(c: SlotContext): Slot | undefined {
  const t = (c.fs ?? realSlotFs).readlink(join(c.root, 'current'));
  return t === 'a' || t === 'b' ? t : undefined;
}

/** The manifest a slot was installed from, or undefined when the slot is absent or unreadable. */
export function slotManifest(c: SlotContext, slot: Slot): BundleManifest | undefined {
  const bytes = (c.fs ?? realSlotFs).readFile(join(c.root, slot, MANIFEST_FILE));
  if (!bytes) return undefined;
  try {
    const r = manifestSchema.safeParse(JSON.parse(bytes.toString('utf8')));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

export function readState(c: SlotContext): SlotState {
  const bytes = (c.fs ?? realSlotFs).readFile(join(c.root, 'state.json'));
  try {
    const s = bytes ? (JSON.parse(bytes.toString('utf8')) as SlotState) : undefined;
    if (s && Array.isArray(s.failed)) return s;
  } catch {
    // A torn state file cannot happen (tmp + rename), but never let it stop a boot: the link decides.
  }
  return { failed: [] };
}

function writeState(c: SlotContext, s: SlotState): void {
  const fs = c.fs ?? realSlotFs;
  const tmp = join(c.root, 'state.json.tmp');
  const w = fs.openWrite(tmp, 0o644);
  w.write(Buffer.from(JSON.stringify(s) + '\n'));
  w.close();
  fs.rename(tmp, join(c.root, 'state.json'));
  fs.fsyncDir(c.root);
}

/** Point `current` at `slot` atomically: a new link beside it, renamed over it. */
function switchTo(c: SlotContext, slot: Slot, unsafe = false): void {
  const fs = c.fs ?? realSlotFs;
  if (unsafe) {
    fs.rm(join(c.root, 'current'));
    fs.symlink(slot, join(c.root, 'current'));
    return;
  }
  const tmp = join(c.root, 'current.new');
  fs.rm(tmp);
  fs.symlink(slot, tmp);
  fs.rename(tmp, join(c.root, 'current'));
  fs.fsyncDir(c.root);
}

export interface InstallOptions extends SlotContext {
  file: string;
  fleetPublicKey: Uint8Array;
  target?: BundleTarget;
  health: HealthCheck;
  /** Install a version that failed its health check before. */
  force?: boolean;
  /** TEST ONLY (negative control): extract while verifying, skipping the write-free first pass. */
  singlePass?: boolean;
  /** TEST ONLY (negative control): replace `current` by unlink + symlink instead of an atomic rename. */
  unsafeSwitch?: boolean;
}

export interface InstallResult {
  outcome: 'installed' | 'rolled-back';
  version: string;
  slot: Slot;
  previous?: string;
  reason?: string;
}

/**
 * The refusals that need the install root, not the bundle (nothing is written): the current slot still
 * on trial, a version that failed its health check here before (unless `force`), a store schema the
 * running version could not read after a rollback. Returns the running slot's manifest.
 */
export function checkInstallable(c: SlotContext, manifest: BundleManifest, force: boolean): BundleManifest | undefined {
  const state = readState(c);
  const cur = currentSlot(c);
  const running = cur ? slotManifest(c, cur) : undefined;
  // Never overwrite the last known-good slot while the current one is still on trial.
  if (state.pending && state.pending.slot === cur) throw new H3lixError('UPDATE_FAILED', `version ${state.pending.version} in slot ${cur} is still on trial; confirm it (bundle confirm) or roll back first`);
  const failed = state.failed.find((f) => f.version === manifest.version);
  if (failed && !force) throw new H3lixError('UPDATE_FAILED', `version ${manifest.version} failed its health check on this board (${failed.reason}); not retried without --force`);
  if (running && manifest.storeSchema > running.storeSchema) {
    throw new H3lixError('UPDATE_FAILED', `version ${manifest.version} migrates the store to schema ${manifest.storeSchema}; the running ${running.version} (schema ${running.storeSchema}) could not read it after a rollback`);
  }
  return running;
}

/**
 * Verify (nothing written), unpack into the inactive slot, switch, health-check; roll back and remember
 * the version on failure. Refusals (bad bundle, a version that already failed, a store schema the
 * running version could not read after a rollback) throw before anything changes on disk.
 */
export async function installBundle(o: InstallOptions): Promise<InstallResult> {
  const fs = o.fs ?? realSlotFs;
  const state = readState(o);
  const cur = currentSlot(o);
  const slot: Slot = cur ? other(cur) : 'a';
  const incoming = join(o.root, `${slot}.incoming`);
  const extract = async (): Promise<BundleManifest> => {
    fs.mkdir(o.root);
    fs.rm(incoming);
    fs.mkdir(incoming);
    const made = new Set<string>([incoming]);
    return scanBundle(o.file, {
      fleetPublicKey: o.fleetPublicKey,
      ...(o.target ? { target: o.target } : {}),
      open: (f) => {
        const dir = dirname(join(incoming, f.path));
        if (!made.has(dir)) {
          fs.mkdir(dir);
          made.add(dir);
        }
        const w = fs.openWrite(join(incoming, f.path), f.mode);
        return { data: (chunk) => w.write(chunk), end: () => w.close() };
      },
    });
  };
  // Pass 1 reads the whole tarball and checks everything without writing a byte (singlePass is the
  // test-only negative control that skips it). Pass 2 re-checks every hash while it writes.
  const manifest = o.singlePass ? await extract() : await scanBundle(o.file, { fleetPublicKey: o.fleetPublicKey, ...(o.target ? { target: o.target } : {}) });
  const running = checkInstallable(o, manifest, o.force === true);
  if (!o.singlePass) await extract();
  const m = fs.openWrite(join(incoming, MANIFEST_FILE), 0o644);
  m.write(Buffer.from(JSON.stringify(manifest)));
  m.close();
  fs.rm(join(o.root, slot));
  fs.rename(incoming, join(o.root, slot));
  fs.fsyncDir(o.root);
  writeState(o, { ...state, pending: { slot, version: manifest.version, ...(cur ? { from: cur } : {}), booted: false } });
  switchTo(o, slot, o.unsafeSwitch);
  const healthy = await o.health().catch(() => false);
  const after = readState(o);
  if (healthy) {
    writeState(o, { failed: after.failed.filter((f) => f.version !== manifest.version), ...(cur ? { previous: cur } : {}) });
    return { outcome: 'installed', version: manifest.version, slot, ...(running ? { previous: running.version } : {}) };
  }
  const reason = 'health check failed after the switch';
  if (cur) switchTo(o, cur, o.unsafeSwitch);
  writeState(o, { failed: [...after.failed, { version: manifest.version, at: o.clock.now(), reason }], ...(after.previous ? { previous: after.previous } : {}) });
  if (cur) await o.health().catch(() => false);
  return { outcome: 'rolled-back', version: manifest.version, slot: cur ?? slot, ...(running ? { previous: running.version } : {}), reason };
}

export interface RecoverResult {
  action: 'none' | 'trial-boot' | 'rolled-back' | 'discarded-pending' | 'empty';
  slot?: Slot;
  version?: string;
}

/**
 * Boot-time repair (the unit's ExecStartPre): remove partial slots, end an interrupted update. A pending
 * slot that is current boots once on trial; if that boot never confirms (ExecStartPost after READY=1),
 * the next boot rolls back to the slot it came from.
 */
export function recoverSlots(c: SlotContext): RecoverResult {
  const fs = c.fs ?? realSlotFs;
  for (const s of ['a', 'b'] as Slot[]) if (fs.exists(join(c.root, `${s}.incoming`))) fs.rm(join(c.root, `${s}.incoming`));
  if (fs.exists(join(c.root, 'current.new')) || fs.readlink(join(c.root, 'current.new')) !== undefined) fs.rm(join(c.root, 'current.new'));
  const state = readState(c);
  let cur = currentSlot(c);
  if (cur && !slotManifest(c, cur)) {
    const alt = other(cur);
    if (slotManifest(c, alt)) {
      switchTo(c, alt);
      cur = alt;
    }
  }
  if (!cur) return { action: 'empty' };
  const p = state.pending;
  if (!p) return { action: 'none', slot: cur, version: slotManifest(c, cur)?.version ?? '?' };
  if (p.slot !== cur) {
    const { pending: _dropped, ...rest } = state;
    writeState(c, rest);
    return { action: 'discarded-pending', slot: cur };
  }
  if (!p.booted) {
    writeState(c, { ...state, pending: { ...p, booted: true } });
    return { action: 'trial-boot', slot: cur, version: p.version };
  }
  return rollbackSlots(c, 'trial boot never confirmed (crash, failed start or power cut)');
}

/** The running version is healthy (ExecStartPost, after READY=1): end its trial. */
export function confirmSlot(c: SlotContext): { confirmed: boolean; slot?: Slot } {
  const state = readState(c);
  const cur = currentSlot(c);
  if (!state.pending || state.pending.slot !== cur) return { confirmed: false, ...(cur ? { slot: cur } : {}) };
  const { pending, ...rest } = state;
  writeState(c, { ...rest, ...(pending.from ? { previous: pending.from } : {}) });
  return { confirmed: true, slot: cur };
}

/** Switch to the other slot (the pending trial's origin, or the previous one) and remember why. */
export function rollbackSlots(c: SlotContext, reason: string): RecoverResult {
  const state = readState(c);
  const cur = currentSlot(c);
  const back = state.pending?.from ?? state.previous ?? (cur ? other(cur) : undefined);
  if (!back || !slotManifest(c, back)) throw new H3lixError('UPDATE_FAILED', 'no previous slot to roll back to');
  const failed = state.pending && state.pending.slot === cur ? [...state.failed, { version: state.pending.version, at: c.clock.now(), reason }] : state.failed;
  switchTo(c, back);
  writeState(c, { failed, ...(cur && cur !== back ? { previous: cur } : {}) });
  return { action: 'rolled-back', slot: back, version: slotManifest(c, back)?.version ?? '?' };
}

/** A health check that runs a shell command (default `systemctl restart h3lix.service`: with Type=notify it returns once READY=1 came). */
export function shellHealthCheck(cmd: string, timeoutMs: number): HealthCheck {
  return () =>
    new Promise((resolve) => {
      const child = spawn('/bin/sh', ['-c', cmd], { stdio: 'ignore', timeout: timeoutMs });
      child.on('error', () => resolve(false));
      child.on('exit', (code) => resolve(code === 0));
    });
}

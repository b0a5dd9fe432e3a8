import { join } from 'node:path';
import { H3lixError } from '../errors.js';
import { readFileChecked, writeFileAtomic } from '../store/atomic-file.js';
import type { Clock } from '../util/clock.js';

/**
 * `<node.dataDir>/health.json` (docs/bundle.md, "Health"): what a running daemon says of itself, for
 * an update's health check and `h3lix health`. Written atomically (checksummed) by the health feature
 * when the daemon is ready and whenever its broker connection changes; a reader in another process
 * needs no broker login and no status server.
 */
export interface HealthRecord {
  v: 1;
  pid: number;
  startedAt: number;
  /** Written at. */
  at: number;
  /** The daemon's MQTT connection is up. */
  brokerConnected: boolean;
  /** The field was loaded from the store (the core does it before any feature starts). */
  fieldLoaded: boolean;
  fieldContributions: number;
  /** Set by a clean stop. */
  stopped?: boolean;
  version: string;
}

export const HEALTH_FILE = 'health.json';

export function writeHealth(dataDir: string, h: HealthRecord): void {
  writeFileAtomic(join(dataDir, HEALTH_FILE), Buffer.from(JSON.stringify(h)), 0o644);
}

/** The record, or undefined when there is none yet. STORE_CORRUPT for a damaged file. */
export function readHealth(dataDir: string): HealthRecord | undefined {
  const bytes = readFileChecked(join(dataDir, HEALTH_FILE));
  if (!bytes) return undefined;
  let h: HealthRecord;
  try {
    h = JSON.parse(Buffer.from(bytes).toString('utf8')) as HealthRecord;
  } catch (err) {
    throw new H3lixError('STORE_CORRUPT', `${join(dataDir, HEALTH_FILE)}: not JSON`, { cause: err });
  }
  if (h.v !== 1 || typeof h.pid !== 'number') throw new H3lixError('STORE_CORRUPT', `${join(dataDir, HEALTH_FILE)}: not a v1 health record`);
  return h;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Healthy means: a record, its daemon process alive and not stopped, the broker connected, the field loaded. */
export function healthVerdict(dataDir: string, opts: { startedAfter?: number } = {}): { healthy: boolean; reason: string; record?: HealthRecord } {
  let h: HealthRecord | undefined;
  try {
    h = readHealth(dataDir);
  } catch (err) {
    return { healthy: false, reason: (err as Error).message };
  }
  if (!h) return { healthy: false, reason: `no ${HEALTH_FILE} in ${dataDir} yet (no daemon has become ready there)` };
  const no = (reason: string) => ({ healthy: false, reason, record: h });
  if (h.stopped) return no(`the daemon (pid ${h.pid}) stopped`);
  if (!alive(h.pid)) return no(`the daemon (pid ${h.pid}) is not running`);
  if (opts.startedAfter !== undefined && h.startedAt < opts.startedAfter) return no(`the daemon (pid ${h.pid}) started before ${new Date(opts.startedAfter).toISOString()}: not the new one yet`);
  if (!h.fieldLoaded) return no('the field is not loaded');
  if (!h.brokerConnected) return no('the broker is not connected');
  return { healthy: true, reason: `pid ${h.pid}: broker connected, field loaded (${h.fieldContributions} contributions), version ${h.version}`, record: h };
}

/** Poll {@link healthVerdict} until healthy or `timeoutMs` passed (on the injected clock). */
export async function waitHealthy(dataDir: string, timeoutMs: number, clock: Clock, opts: { startedAfter?: number; pollMs?: number } = {}): Promise<{ healthy: boolean; reason: string; record?: HealthRecord }> {
  const end = clock.now() + timeoutMs;
  for (;;) {
    const v = healthVerdict(dataDir, opts);
    if (v.healthy || clock.now() >= end) return v;
    await new Promise<void>((r) => clock.setTimeout(r, opts.pollMs ?? 250));
  }
}

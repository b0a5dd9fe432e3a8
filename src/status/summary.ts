/**
 * What the status page, its event stream, `/metrics` and `h3lix status` show: one plain JSON object
 * built from the daemon's own state (or, for the CLI, from the data directory).
 */
import type { Contribution } from '../ccf/types.js';

/** The latest energy reading as the estimator sees it; null before the first reading. */
export interface EnergySummary {
  /** Wall time of the reading, ms. */
  time: number;
  mode: string;
  modeSince: number | null;
  /** 0..1. */
  soc: number;
  batteryVoltage: number;
  batteryCurrent: number;
  pvPower: number;
  loadPower: number;
  budgetWh: number | null;
  forecastWh: number | null;
  source: string;
}

export interface FieldKeySummary {
  key: string;
  origins: number;
  /** Sum of the origins' (noised) example counts. */
  count: number;
  /** Latest HLC wall time over the key's contributions, ms. */
  lastUpdate: number;
}

export interface FieldSummary {
  contributions: number;
  keyCount: number;
  originCount: number;
  digest: string;
  /** The most recently updated keys (at most `maxKeys`). */
  keys: FieldKeySummary[];
}

export interface PeerSummary {
  node: string;
  online: boolean;
  energyMode: string | null;
  board: string | null;
  /** Local wall time the presence was received, ms. */
  lastSeen: number;
}

export interface PrivacySummary {
  epsilonSpent: number;
  epsilonBudget: number;
  delta: number;
  releases: number;
}

export interface SyncSummary {
  received: number;
  accepted: number;
  applied: number;
  rejected: Record<string, number>;
  bytesReceived: number;
  bytesEnqueued: number;
  /** Bytes handed to the broker by the outbox pump (null: not known, e.g. from the CLI). */
  bytesPublished: number | null;
  deltasSent: number;
  digestsSent: number;
}

export interface StatusSummary {
  v: 1;
  node: string | null;
  fleet: string;
  board: string;
  /** When the summary was made (local wall time), ms. */
  time: number;
  /** 'daemon' (live) or 'data-dir' (the CLI, read from disk). */
  from: 'daemon' | 'data-dir';
  /** MQTT connection of the daemon (null from the data dir). */
  mqtt: string | null;
  energy: EnergySummary | null;
  field: FieldSummary;
  peers: PeerSummary[];
  privacy: PrivacySummary | null;
  outbox: { messages: number; bytes: number };
  sync: SyncSummary | null;
  learning: { received: number; predicted: number; feedback: number; rejected: number } | null;
}

/** Summarise field contributions: per key its origin count, total count and latest update. */
export function summarizeField(contributions: readonly Contribution[], digest: string, maxKeys = 50): FieldSummary {
  const byKey = new Map<string, FieldKeySummary>();
  const origins = new Set<string>();
  for (const c of contributions) {
    origins.add(c.origin);
    let k = byKey.get(c.key);
    if (!k) byKey.set(c.key, (k = { key: c.key, origins: 0, count: 0, lastUpdate: 0 }));
    k.origins += 1;
    k.count += c.count;
    k.lastUpdate = Math.max(k.lastUpdate, c.hlc.wall);
  }
  const keys = [...byKey.values()].sort((a, b) => b.lastUpdate - a.lastUpdate || a.key.localeCompare(b.key)).slice(0, maxKeys);
  for (const k of keys) k.count = Math.round(k.count * 10) / 10;
  return { contributions: contributions.length, keyCount: byKey.size, originCount: origins.size, digest, keys };
}

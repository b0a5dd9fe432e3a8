/**
 * What the status page, its event stream, `/metrics` and `h3lix status` show: one plain JSON object
 * built from the daemon's own state (or, for the CLI, from the data directory).
 */
import type { Contribution } from '../ccf/types.js';
import type { FeedbackAccuracySnapshot } from '../instance/feedback-accuracy.js';

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

/** One sleep decision as the page shows it (times are wall ms, rounded to the minute). */
export interface PowerPlanSummary {
  /** When the decision was (or would be) taken. */
  at: number;
  sleep: boolean;
  reason: string;
  /** Sleep: wake at this time at the latest (the MCU's max-off cap). */
  wakeAt: number | null;
  /** Sleep: or as soon as the MCU sees this SOC (0..1). */
  wakeSoc: number | null;
  /** Awake: when the forecast SOC reaches the floor (the next sleep is planned around then); null = not within the horizon. */
  floorAt: number | null;
}

/** The companion MCU's power management: the wake/sleep plan. */
export interface PowerSummary {
  /** True when the companion MCU manages the host's power (an `mcu:` energy source). */
  managed: boolean;
  /** One sentence for people: who manages power, or why nothing does. */
  note: string;
  /** `energy.sleep.enabled`. */
  enabled: boolean;
  /** The MCU link is open. */
  linked: boolean;
  lastWake: { reason: string; sleptSeconds: number; at: number } | null;
  /** The decision taken on the current reading and forecast (not armed: the planner arms only on its round). */
  plan: PowerPlanSummary | null;
  /** The planner's last round. */
  lastDecision: PowerPlanSummary | null;
  nextPlanAt: number | null;
  /** An armed sleep (the daemon is going down). */
  armed: string | null;
}

/** Counters of the personal instance; `accuracy` is the accuracy on feedback (null: not known, e.g. from an older daemon). */
export interface LearningSummary {
  received: number;
  predicted: number;
  feedback: number;
  rejected: number;
  accuracy: FeedbackAccuracySnapshot | null;
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
  learning: LearningSummary | null;
  /** The wake/sleep plan; null where it is not known (the CLI reading the data dir). */
  power: PowerSummary | null;
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

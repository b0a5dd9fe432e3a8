import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Contribution } from '../ccf/types.js';
import { DB_FILE, openStore, storeError } from './db.js';
import { FieldStore } from './field-store.js';
import { readPublicIdentity } from './identity.js';

/** Per-key summary: which origins contribute and at which versions. */
export interface KeySummary {
  key: string;
  dim: number;
  origins: Array<{ origin: string; version: number; count: number; hlc: { wall: number; logical: number } }>;
}

/** What `inspectDataDir` reports. Public data only: never private keys. */
export interface DataDirInspection {
  dataDir: string;
  /** Node id from identity.json; `null` when no identity has been created yet. */
  nodeId: string | null;
  /** Base64 public keys (null without identity). */
  signingPublicKey: string | null;
  boxPublicKey: string | null;
  /** `false` when `h3lix.db` does not exist (nothing stored yet; the other fields are then empty). */
  hasDatabase: boolean;
  schemaVersion: number;
  localVersion: number;
  /** Highest version per origin (the node's version vector as stored). */
  versionVector: Record<string, number>;
  keys: KeySummary[];
  /** Every stored contribution (load into a CcfField to compute the digest). */
  contributions: Contribution[];
  outbox: { messages: number; bytes: number; oldestCreatedAt: number | null; newestCreatedAt: number | null };
  /** Persisted counters (field local version, seq reservations per sender). */
  counters: Record<string, number>;
  kvKeys: string[];
}

/**
 * Read-only view of a data directory (for `h3lix ccf inspect`): opens `h3lix.db` with
 * `readonly: true` (no migrations, no writes, safe while the daemon runs) and reads identity.json
 * without creating it. Throws STORE_CORRUPT / STORE_IO like the daemon would.
 */
export function inspectDataDir(dataDir: string): DataDirInspection {
  const id = readPublicIdentity(dataDir);
  const out: DataDirInspection = {
    dataDir,
    nodeId: id?.nodeId ?? null,
    signingPublicKey: id ? Buffer.from(id.signingPublicKey).toString('base64') : null,
    boxPublicKey: id ? Buffer.from(id.boxPublicKey).toString('base64') : null,
    hasDatabase: existsSync(join(dataDir, DB_FILE)),
    schemaVersion: 0,
    localVersion: 0,
    versionVector: {},
    keys: [],
    contributions: [],
    outbox: { messages: 0, bytes: 0, oldestCreatedAt: null, newestCreatedAt: null },
    counters: {},
    kvKeys: [],
  };
  if (!out.hasDatabase) return out;
  const store = openStore({ dataDir, readonly: true });
  try {
    out.schemaVersion = store.schemaVersion;
    if (store.schemaVersion < 1) return out;
    const { contributions, localVersion } = new FieldStore({ store }).load();
    out.localVersion = localVersion;
    out.contributions = contributions;
    const byKey = new Map<string, KeySummary>();
    for (const c of contributions) {
      let k = byKey.get(c.key);
      if (!k) byKey.set(c.key, (k = { key: c.key, dim: c.sum.length, origins: [] }));
      k.origins.push({ origin: c.origin, version: c.version, count: c.count, hlc: { ...c.hlc } });
      out.versionVector[c.origin] = Math.max(out.versionVector[c.origin] ?? 0, c.version);
    }
    out.keys = [...byKey.values()];
    try {
      const db = store.db;
      const ob = db.prepare('SELECT count(*) AS c, coalesce(sum(length(payload)), 0) AS b, min(created_at) AS lo, max(created_at) AS hi FROM outbox').get() as {
        c: number;
        b: number;
        lo: number | null;
        hi: number | null;
      };
      out.outbox = { messages: ob.c, bytes: ob.b, oldestCreatedAt: ob.lo, newestCreatedAt: ob.hi };
      for (const r of db.prepare('SELECT name, value FROM counters ORDER BY name').all() as Array<{ name: string; value: number }>) out.counters[r.name] = r.value;
      out.kvKeys = (db.prepare('SELECT key FROM kv ORDER BY key').all() as Array<{ key: string }>).map((r) => r.key);
    } catch (err) {
      throw storeError(err, 'inspect', store.path);
    }
    return out;
  } finally {
    store.close();
  }
}

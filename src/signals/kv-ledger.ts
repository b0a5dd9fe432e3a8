/**
 * `PrivacyPersistence` on the daemon's durable key-value store (`ctx.kv`, SQLite with
 * synchronous=FULL, so `set` is durable when it returns). The ledger is JSON under one key.
 * A corrupt ledger fails closed: `load` throws STORE_CORRUPT, the release fails and nothing is
 * published (a budget must never silently reset to zero).
 */
import { H3lixError } from '../errors.js';
import type { PrivacyLedger, PrivacyPersistence } from './accountant.js';

/** The slice of `KvStore` used. */
export interface LedgerKv {
  getString(key: string): string | undefined;
  set(key: string, value: string): void;
}

/** Default kv key. */
export const PRIVACY_LEDGER_KEY = 'signals.privacy-ledger';

export function kvPrivacyPersistence(kv: LedgerKv, key = PRIVACY_LEDGER_KEY): PrivacyPersistence {
  return {
    load(): PrivacyLedger | undefined {
      const text = kv.getString(key);
      if (text === undefined) return undefined;
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch (err) {
        throw new H3lixError('STORE_CORRUPT', `privacy ledger ${key} is not JSON`, { cause: err });
      }
      const l = v as Partial<PrivacyLedger> | null;
      const ok = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;
      if (!l || !ok(l.rho) || !ok(l.deltaSelection) || !ok(l.releases) || !Number.isInteger(l.releases)) {
        throw new H3lixError('STORE_CORRUPT', `privacy ledger ${key} is malformed: ${text.slice(0, 120)}`);
      }
      return { rho: l.rho, deltaSelection: l.deltaSelection, releases: l.releases };
    },
    save(ledger: PrivacyLedger): void {
      kv.set(key, JSON.stringify(ledger));
    },
  };
}

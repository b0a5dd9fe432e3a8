/** Durable state (DESIGN section 9): one SQLite database per data directory plus atomic files. */
export { openStore, storeError, DB_FILE, type Store, type StoreOptions } from './db.js';
export { MIGRATIONS, SCHEMA_VERSION, type Migration } from './migrations.js';
export { writeFileAtomic, writeFileAtomicRaw, readFileChecked, encodeChecked, decodeChecked, fsyncDir } from './atomic-file.js';
export { loadOrCreateIdentity, readIdentity, readPublicIdentity, IDENTITY_FILE, type NodeIdentity, type PublicIdentity } from './identity.js';
export { Outbox, type OutboxMessage, type OutboxOptions, type OutboxStats, type EnqueueInput, type DropReason } from './outbox.js';
export { SeqStore, KvStore, ReplayStateStore, type SeqStoreOptions, type KvValue } from './seq-store.js';
export { FieldStore, type FieldStoreOptions } from './field-store.js';
export { SqliteEnergyHistoryStore, type SqliteEnergyHistoryStoreOptions } from './energy-history.js';
export { inspectDataDir, type DataDirInspection, type KeySummary } from './inspect.js';

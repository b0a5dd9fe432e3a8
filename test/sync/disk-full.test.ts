import t from 'tap';
import { CcfField } from '../../src/ccf/field.js';
import { ReplayGuard } from '../../src/ccf/codec/replay.js';
import { validateConfig } from '../../src/config/load.js';
import { createSigner, generateKeyPair } from '../../src/crypto/ed25519.js';
import { nodeIdFromPublicKey } from '../../src/crypto/node-id.js';
import { H3lixError } from '../../src/errors.js';
import { openStore } from '../../src/store/db.js';
import { Outbox } from '../../src/store/outbox.js';
import { CcfSync, type SyncStatePort } from '../../src/sync/ccf-sync.js';
import { OpenKeyResolver } from '../../src/sync/key-resolver.js';
import type { TransportEvents } from '../../src/sync/transport.js';
import { ManualClock } from '../../src/util/clock.js';
import { TypedEvents } from '../../src/util/events.js';

/**
 * Issue 9 section 8: the daemon died on an uncaught STORE_IO thrown from a timer
 * (publishLocalDelta -> saveState -> KvStore.set) when the disk filled. The debounce timer now
 * survives a failing state store, counts it, and the delta still goes out.
 */
t.test('a STORE_IO from the sync-state save inside the delta timer does not escape', async (t) => {
  const store = openStore({ dataDir: t.testdir() });
  t.teardown(() => store.close());
  const clock = new ManualClock();
  const pair = generateKeyPair();
  const nodeId = nodeIdFromPublicKey(pair.publicKey);
  const config = validateConfig({ node: { dataDir: '/tmp/unused', fleet: 'f1' } });
  const field = new CcfField({ nodeId, clock, config: config.ccf, quantization: 'int8' });
  const outbox = new Outbox({ store });
  let full = true;
  let saves = 0;
  const state: SyncStatePort = {
    load: () => undefined,
    save: () => {
      saves++;
      if (full) throw new H3lixError('STORE_IO', 'database or disk is full');
    },
  };
  const sync = new CcfSync({
    nodeId,
    fleet: 'f1',
    field,
    signer: createSigner(pair),
    clock,
    outbox,
    kick: () => undefined,
    seq: { next: (() => { let n = 0; return () => ++n; })() },
    replay: new ReplayGuard(),
    keys: new OpenKeyResolver({ self: { node: nodeId, publicKey: pair.publicKey } }),
    transport: { events: new TypedEvents<TransportEvents>() },
    debounceMs: 10,
    state,
  });
  await sync.start();
  t.teardown(() => sync.stop());
  field.contributeLocal('k', Float32Array.of(1, 0, 0, 0), 1);
  t.doesNotThrow(() => clock.advance(20), 'the delta timer fires with the disk full and nothing escapes it');
  t.ok(sync.counters.stateSaveFailures >= 1, `counted (${sync.counters.stateSaveFailures} failed saves)`);
  t.equal(sync.counters.deltasSent, 1, 'the delta was still sent');
  full = false;
  const before = saves;
  field.contributeLocal('k2', Float32Array.of(0, 1, 0, 0), 1);
  clock.advance(20);
  t.ok(saves > before, 'the state is saved again once the disk has room');
});

import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { EmbeddedBroker } from '../../src/sync/embedded-broker.js';
import { createLogger, type Logger } from '../../src/util/logger.js';
import { systemClock } from '../../src/util/clock.js';
import { initFleet } from '../../src/fleet/init.js';
import type { FleetDir } from '../../src/fleet/fleet-dir.js';
import { createFleetBrokerAuth, type FleetBrokerAuth } from '../../src/fleet/broker-auth.js';
import { RevocationSet } from '../../src/fleet/revocation.js';
import { Provisioner } from '../../src/fleet/provisioner.js';
import { provisionBoard, type ProvisionedBoard } from '../../src/fleet/board.js';
import { readBoardImage } from '../../src/fleet/board-files.js';
import { loadOrCreateIdentity, type NodeIdentity } from '../../src/store/identity.js';

/** A logger whose output is captured (for reason checks and the private-key scan). */
export function capturedLogger(): { logger: Logger; text: () => string } {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  return { logger: createLogger('debug', out), text: () => text };
}

export function makeFleet(dir: string, opts: { uses?: number; expiresDays?: number; fleet?: string; boards?: string[] } = {}): FleetDir {
  return initFleet({
    dir: join(dir, 'fleet'),
    fleet: opts.fleet ?? 'f1',
    brokerUrl: 'mqtt://127.0.0.1:1883',
    batch: { name: 'b1', uses: opts.uses ?? 100, expiresDays: opts.expiresDays ?? 30, boards: opts.boards ?? [] },
    now: Date.now(),
  }).fleetDir;
}

export interface SecureBroker {
  broker: EmbeddedBroker;
  auth: FleetBrokerAuth;
  revocations: RevocationSet;
}

export async function startSecureBroker(fd: FleetDir, logger: Logger): Promise<SecureBroker> {
  const revocations = new RevocationSet(fd.fleet, fd.fleetPublicKey);
  const auth = createFleetBrokerAuth({ fleet: fd.fleet, fleetPublicKey: fd.fleetPublicKey, revocations, clock: systemClock, logger });
  const broker = new EmbeddedBroker({ host: '127.0.0.1', port: 0, hooks: auth.hooks });
  await broker.start();
  return { broker, auth, revocations };
}

export async function startProvisioner(fd: FleetDir, url: string, logger: Logger, opts: { manual?: boolean; auth?: 'token' | 'password'; pollMs?: number } = {}): Promise<Provisioner> {
  const p = new Provisioner({ fleetDir: fd, url, policy: { certLifetimeDays: 30, allowBoards: [], config: { syncCadenceS: 60 } }, clock: systemClock, logger, manual: opts.manual ?? false, auth: opts.auth ?? 'token', pollMs: opts.pollMs ?? 50 });
  await p.start();
  return p;
}

export interface Board {
  dataDir: string;
  identity: NodeIdentity;
  result: ProvisionedBoard;
}

export async function provisionOne(fd: FleetDir, dataDir: string, url: string, logger: Logger, opts: { auth?: 'token' | 'password'; attempts?: number; timeoutMs?: number; board?: string } = {}): Promise<Board> {
  const identity = loadOrCreateIdentity(dataDir);
  const result = await provisionBoard({
    dataDir,
    identity,
    image: readBoardImage(fd.path('image', 'b1')),
    url,
    auth: opts.auth ?? 'token',
    board: opts.board ?? 'rpi-4',
    versions: { h3lix: '0.1.0' },
    attemptTimeoutMs: opts.timeoutMs ?? 3000,
    maxAttempts: opts.attempts ?? 3,
    backoffMs: 50,
    clock: systemClock,
    logger,
  });
  return { dataDir, identity, result };
}

export { until } from '../helpers/until.js';

/**
 * The usual fleet rig of a test: a fleet (batch b1), the embedded broker with the fleet hooks and a
 * provisioner on it, torn down with the test.
 */
export async function fleetRig(t: { testdir(): string; teardown(fn: () => unknown): void }, o: { uses?: number } = {}): Promise<{ dir: string; logger: Logger; text: () => string; fd: FleetDir; sb: SecureBroker; prov: Provisioner }> {
  const dir = t.testdir();
  const { logger, text } = capturedLogger();
  const fd = makeFleet(dir, o.uses !== undefined ? { uses: o.uses } : {});
  const sb = await startSecureBroker(fd, logger);
  t.teardown(() => sb.broker.stop());
  const prov = await startProvisioner(fd, sb.broker.url, logger);
  t.teardown(() => prov.stop());
  return { dir, logger, text, fd, sb, prov };
}

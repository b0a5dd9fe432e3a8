import { generateKeyPair } from '../crypto/ed25519.js';
import { H3lixError } from '../errors.js';
import { issueClaim } from './certificate.js';
import { FleetDir } from './fleet-dir.js';
import { mosquittoPasswordHash, randomBrokerPassword } from './mosquitto-acl.js';

const DAY = 86_400_000;

export interface BatchSpec {
  name: string;
  /** Boards that may provision with this claim. */
  uses: number;
  /** Days until the claim expires. */
  expiresDays: number;
  /** Board profiles allowed ([] = any). */
  boards?: string[];
  /** Roles granted. Default ['node']. */
  roles?: string[];
}

export interface InitFleetOptions {
  dir: string;
  fleet: string;
  brokerUrl: string;
  batch: BatchSpec;
  now: number;
}

export interface InitFleetResult {
  fleetDir: FleetDir;
  /** Paths that go into the board image. */
  image: string[];
  /** Paths that must stay with the operator. */
  operator: string[];
}

/** Create a fleet: fleet key, provisioner broker password, first claim batch (DESIGN section 8). */
export function initFleet(o: InitFleetOptions): InitFleetResult {
  const pair = generateKeyPair();
  const fd = FleetDir.create(o.dir, {
    format: 'h3lix-fleet',
    v: 1,
    fleet: o.fleet,
    fleetPublicKey: Buffer.from(pair.publicKey).toString('base64'),
    brokerUrl: o.brokerUrl,
    createdAt: o.now,
  }, pair.seed);
  fd.saveProvisionerPassword(randomBrokerPassword());
  const image = addBatch(fd, o.batch, o.now);
  return { fleetDir: fd, image, operator: [fd.path('private', 'fleet.key'), fd.path('private', 'provisioner.json'), fd.path('state')] };
}

/** Add a claim batch to an existing fleet; returns the image files. Refuses an existing batch name. */
export function addBatch(fd: FleetDir, b: BatchSpec, now: number): string[] {
  if (fd.claimState(b.name)) throw new H3lixError('DATA_INVALID', `batch ${b.name} already exists in ${fd.dir}`);
  if (!Number.isSafeInteger(b.uses) || b.uses < 1) throw new H3lixError('DATA_INVALID', `batch uses must be >= 1, got ${b.uses}`);
  if (!(b.expiresDays > 0)) throw new H3lixError('DATA_INVALID', `batch expiry must be > 0 days, got ${b.expiresDays}`);
  const claimPair = generateKeyPair();
  const notAfter = Math.round(now + b.expiresDays * DAY);
  const claim = issueClaim({
    fleet: fd.fleet,
    batch: b.name,
    claimKey: claimPair.publicKey,
    maxUses: b.uses,
    issuedAt: now,
    notAfter,
    boards: b.boards ?? [],
    roles: b.roles ?? ['node'],
  }, fd.fleetSigner());
  const brokerPassword = randomBrokerPassword();
  fd.saveClaimState({ batch: b.name, uses: 0, maxUses: b.uses, notAfter, brokerPasswordHash: mosquittoPasswordHash(brokerPassword) });
  fd.writeClaimFile({
    format: 'h3lix-claim-file',
    v: 1,
    fleet: fd.fleet,
    batch: b.name,
    claim: Buffer.from(claim).toString('base64'),
    claimSeed: Buffer.from(claimPair.seed).toString('base64'),
    brokerPassword,
  });
  return [fd.path('image', b.name, 'fleet.json'), fd.path('image', b.name, 'claim.json')];
}

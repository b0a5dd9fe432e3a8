import { existsSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { H3lixError } from '../errors.js';
import { createSigner, keyPairFromSeed, type Signer } from '../crypto/ed25519.js';
import { readFileChecked, writeFileAtomic } from '../store/atomic-file.js';

/**
 * The operator's fleet directory (`h3lix fleet init --out DIR`). Everything under `private/` and
 * `state/` stays with the operator; `image/<batch>/` is what goes into a board image.
 *
 *   fleet.json                    public: fleet name, fleet public key, broker URL
 *   private/fleet.key             the fleet Ed25519 seed (0600)
 *   private/provisioner.json      the provisioner's Mosquitto password (0600)
 *   image/<batch>/fleet.json      copy of the public fleet.json for the image
 *   image/<batch>/claim.json      the batch claim credential + claim private key (0600; in every image of the batch)
 *   state/claims/<batch>.json     claim use counter and Mosquitto password hash (0600)
 *   state/nodes/<node>.json       issued certificate, batch, board, Mosquitto password hash
 *   state/pending/<request>.json  manual-mode requests awaiting `fleet approve|reject`
 *   state/revocations.json        revoked nodes and batches, and the signed list (seq only grows)
 *   state/cmd.json                last command sequence number
 *   state/bridges/<site>.json     a site bridge's login on the fleet broker (`fleet bridge --fleet-dir`; bridge-identity.ts)
 *   tls/ca.pem                    the fleet TLS CA, self-signed by the fleet key (public; tls-files.ts)
 *   tls/server-<name>.pem|.key    broker server certificates (`fleet tls-server`; the key 0600)
 *   image/<batch>/fleet-ca.pem    the CA again, and claim-cert.pem (CN claim-<batch>, the claim key)
 * Every file is written atomically with a sha256 trailer (store/atomic-file.ts), 0600.
 */
export interface FleetPublic {
  format: 'h3lix-fleet';
  v: 1;
  fleet: string;
  /** base64 Ed25519 fleet public key. */
  fleetPublicKey: string;
  brokerUrl: string;
  createdAt: number;
}

/** The board-image claim file. */
export interface ClaimFile {
  format: 'h3lix-claim-file';
  v: 1;
  fleet: string;
  batch: string;
  /** base64 fleet-signed claim credential (certificate.ts ClaimCredential). */
  claim: string;
  /** base64 seed of the batch claim key (shared by the batch; worthless once the claim is used up or expired). */
  claimSeed: string;
  /** Mosquitto password for username `claim-<batch>` (upstream brokers without token auth). */
  brokerPassword: string;
}

export interface ClaimState {
  batch: string;
  uses: number;
  maxUses: number;
  notAfter: number;
  brokerPasswordHash: string;
}

export interface NodeRecord {
  nodeId: string;
  /** base64 current certificate. */
  cert: string;
  serial: number;
  notAfter: number;
  batch: string;
  board: string;
  issuedAt: number;
  brokerPasswordHash: string;
  /** base64 nonce of the request that produced this record (a replay of it changes nothing). */
  nonce?: string;
  /** Sealed secrets of that answer (JSON of base64 fields), re-sent unchanged to a retry of the same request. */
  sealed?: string;
  /**
   * Wall ms the request behind this record was signed at (its envelope timestamp). A request signed
   * earlier than this, with another nonce, is a replay of an older request and is refused (`REPLAYED`).
   * Absent in records written before issue 9.
   */
  requestTs?: number;
  /** base64 DER X.509 TLS certificate issued with `cert` (CN = node id); absent before fleet TLS. */
  tlsCert?: string;
}

export interface PendingRecord {
  requestId: string;
  receivedAt: number;
  /** base64 raw request message (re-verified at approval). */
  request: string;
  nodeId: string;
  batch: string;
  board: string;
  decision?: 'approved' | 'rejected';
  reason?: string;
}

export interface RevocationState {
  seq: number;
  revoked: { nodeId: string; at: number; reason: string }[];
  /** Revoked claim batches (`fleet revoke --batch`); absent in fleet directories older than issue 9. */
  batches?: { batch: string; at: number; reason: string }[];
  /** base64 signed list for `seq`. */
  signed?: string;
}

/** A site broker's bridge login on the fleet broker (`h3lix fleet bridge --fleet-dir`, bridge-identity.ts). */
export interface BridgeRecord {
  site: string;
  /** `h3lix-bridge-<site>`: the bridge's remote client id, MQTT username and TLS certificate CN. */
  username: string;
  issuedAt: number;
  /** Mosquitto password hash (password bridges). */
  brokerPasswordHash?: string;
  /** base64 DER X.509 client certificate (TLS bridges). */
  tlsCert?: string;
}

function readJson<T>(path: string): T | undefined {
  const bytes = readFileChecked(path);
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
  } catch (err) {
    throw new H3lixError('STORE_CORRUPT', `${path}: not valid JSON`, { cause: err, detail: { path } });
  }
}

function writeJson(path: string, value: unknown): void {
  writeFileAtomic(path, Buffer.from(JSON.stringify(value, null, 2), 'utf8'), 0o600);
}

const SAFE = /^[A-Za-z0-9_-]{1,64}$/;
function safe(name: string, what: string): string {
  if (!SAFE.test(name)) throw new H3lixError('DATA_INVALID', `${what} "${name.slice(0, 40)}" must be 1-64 of [A-Za-z0-9_-]`);
  return name;
}

/** Read/write access to a fleet directory. Construction does no I/O; `open` checks it exists. */
export class FleetDir {
  private signer: Signer | undefined;
  private constructor(readonly dir: string, readonly info: FleetPublic) {}

  static open(dir: string): FleetDir {
    const info = readJson<FleetPublic>(join(dir, 'fleet.json'));
    if (!info || info.format !== 'h3lix-fleet') throw new H3lixError('CONFIG_NOT_FOUND', `${dir} is not a fleet directory (no fleet.json); run h3lix fleet init`);
    return new FleetDir(dir, info);
  }

  /** Create the public file of a new fleet; refuses an existing fleet directory. */
  static create(dir: string, info: FleetPublic, fleetSeed: Uint8Array): FleetDir {
    if (existsSync(join(dir, 'fleet.json')) || existsSync(join(dir, 'private'))) {
      throw new H3lixError('DATA_INVALID', `${dir} already holds a fleet; refusing to overwrite it (fleet keys cannot be re-created)`);
    }
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeJson(join(dir, 'private', 'fleet.key'), { format: 'h3lix-fleet-key', seed: Buffer.from(fleetSeed).toString('base64') });
    writeJson(join(dir, 'fleet.json'), info);
    return new FleetDir(dir, info);
  }

  get fleet(): string {
    return this.info.fleet;
  }

  get fleetPublicKey(): Uint8Array {
    return new Uint8Array(Buffer.from(this.info.fleetPublicKey, 'base64'));
  }

  /** The fleet signer (reads private/fleet.key once). Never log what it holds. */
  fleetSigner(): Signer {
    if (this.signer) return this.signer;
    return (this.signer = createSigner(keyPairFromSeed(this.fleetSeed())));
  }

  /** The fleet key's seed, checked against fleet.json (the fleet TLS CA signs with it, tls-ca.ts). Never log it. */
  fleetSeed(): Uint8Array {
    const key = readJson<{ seed: string }>(join(this.dir, 'private', 'fleet.key'));
    if (!key) throw new H3lixError('CONFIG_NOT_FOUND', `${this.dir}/private/fleet.key is missing: this fleet directory cannot sign`);
    const pair = keyPairFromSeed(new Uint8Array(Buffer.from(key.seed, 'base64')));
    if (Buffer.from(pair.publicKey).toString('base64') !== this.info.fleetPublicKey) throw new H3lixError('STORE_CORRUPT', 'private/fleet.key does not match fleet.json');
    return pair.seed;
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  writeClaimFile(claim: ClaimFile): void {
    safe(claim.batch, 'batch');
    writeJson(this.path('image', claim.batch, 'claim.json'), claim);
    writeJson(this.path('image', claim.batch, 'fleet.json'), this.info);
  }

  claimState(batch: string): ClaimState | undefined {
    return readJson<ClaimState>(this.path('state', 'claims', `${safe(batch, 'batch')}.json`));
  }

  saveClaimState(s: ClaimState): void {
    writeJson(this.path('state', 'claims', `${safe(s.batch, 'batch')}.json`), s);
  }

  claimStates(): ClaimState[] {
    return this.list('claims').map((n) => this.claimState(n)).filter((x): x is ClaimState => x !== undefined);
  }

  node(nodeId: string): NodeRecord | undefined {
    return readJson<NodeRecord>(this.path('state', 'nodes', `${safe(nodeId, 'node id')}.json`));
  }

  saveNode(r: NodeRecord): void {
    writeJson(this.path('state', 'nodes', `${safe(r.nodeId, 'node id')}.json`), r);
  }

  nodes(): NodeRecord[] {
    return this.list('nodes').map((n) => this.node(n)).filter((x): x is NodeRecord => x !== undefined);
  }

  pending(requestId: string): PendingRecord | undefined {
    return readJson<PendingRecord>(this.path('state', 'pending', `${safe(requestId, 'request id')}.json`));
  }

  savePending(r: PendingRecord): void {
    writeJson(this.path('state', 'pending', `${safe(r.requestId, 'request id')}.json`), r);
  }

  removePending(requestId: string): void {
    try {
      unlinkSync(this.path('state', 'pending', `${safe(requestId, 'request id')}.json`));
    } catch {
      /* already answered */
    }
  }

  pendingAll(): PendingRecord[] {
    return this.list('pending').map((n) => this.pending(n)).filter((x): x is PendingRecord => x !== undefined);
  }

  revocations(): RevocationState {
    return readJson<RevocationState>(this.path('state', 'revocations.json')) ?? { seq: 0, revoked: [] };
  }

  saveRevocations(r: RevocationState): void {
    writeJson(this.path('state', 'revocations.json'), r);
  }

  provisionerPassword(): string | undefined {
    return readJson<{ brokerPassword: string }>(this.path('private', 'provisioner.json'))?.brokerPassword;
  }

  saveProvisionerPassword(password: string): void {
    writeJson(this.path('private', 'provisioner.json'), { brokerPassword: password });
  }

  bridge(site: string): BridgeRecord | undefined {
    return readJson<BridgeRecord>(this.path('state', 'bridges', `${safe(site, 'site')}.json`));
  }

  saveBridge(r: BridgeRecord): void {
    writeJson(this.path('state', 'bridges', `${safe(r.site, 'site')}.json`), r);
  }

  bridges(): BridgeRecord[] {
    return this.list('bridges').map((n) => this.bridge(n)).filter((x): x is BridgeRecord => x !== undefined);
  }

  /** Next command sequence number (persisted; strictly increasing across runs). */
  nextCommandSeq(now: number): number {
    const path = this.path('state', 'cmd.json');
    const last = readJson<{ seq: number }>(path)?.seq ?? 0;
    const seq = Math.max(last + 1, now * 1000);
    writeJson(path, { seq });
    return seq;
  }

  private list(sub: string): string[] {
    const dir = this.path('state', sub);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .map((n) => n.slice(0, -5))
      .filter((n) => SAFE.test(n))
      .sort();
  }
}

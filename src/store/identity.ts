import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import nacl from 'tweetnacl';
import { generateKeyPair, keyPairFromSeed, type Ed25519KeyPair } from '../crypto/ed25519.js';
import { nodeIdFromPublicKey } from '../crypto/node-id.js';
import { H3lixError } from '../errors.js';
import type { Logger } from '../util/logger.js';
import { readFileChecked, removeStaleTemps, writeFileAtomic } from './atomic-file.js';

/** File name of the node identity inside the data directory. */
export const IDENTITY_FILE = 'identity.json';
const FORMAT = 'h3lix-identity';

/**
 * This node's long-lived keys (DESIGN section 8). `nodeId` is self-certifying:
 * `nodeIdFromPublicKey(signing.publicKey)`. The object redacts its private keys when printed,
 * inspected or JSON-serialised; never log `signing.seed` or `box.secretKey`.
 */
export interface NodeIdentity {
  nodeId: string;
  signing: Ed25519KeyPair;
  /** tweetnacl box (X25519) key pair. */
  box: { publicKey: Uint8Array; secretKey: Uint8Array };
}

/** The public half of an identity (safe to print). */
export interface PublicIdentity {
  nodeId: string;
  signingPublicKey: Uint8Array;
  boxPublicKey: Uint8Array;
  createdAt: number | undefined;
}

export interface LoadIdentityOptions {
  /** Logger for "created new identity" (public data only). Default: none. */
  logger?: Logger;
  /** Wall clock for `createdAt`. Default `Date.now`. */
  now?: () => number;
}

interface IdentityFileV1 {
  format: typeof FORMAT;
  v: 1;
  nodeId: string;
  createdAt: number;
  signing: { publicKey: string; seed: string };
  box: { publicKey: string; secretKey: string };
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

function withRedaction(id: NodeIdentity): NodeIdentity {
  const pub = () => ({ nodeId: id.nodeId, signingPublicKey: b64(id.signing.publicKey), boxPublicKey: b64(id.box.publicKey), privateKeys: '[redacted]' });
  Object.defineProperty(id, 'toJSON', { value: pub, enumerable: false });
  Object.defineProperty(id, inspect.custom, { value: () => `NodeIdentity ${inspect(pub())}`, enumerable: false });
  return id;
}

function corrupt(path: string, reason: string, cause?: unknown): H3lixError {
  return new H3lixError(
    'STORE_CORRUPT',
    `identity file ${path} is unusable: ${reason}. Refusing to create a new identity because that would change this ` +
      `node's id (and void its certificate). Restore the file from a backup, or delete it deliberately to start as a new node.`,
    { cause, detail: { path, reason } },
  );
}

function decodeKey(path: string, value: unknown, len: number, name: string): Uint8Array {
  if (typeof value !== 'string') throw corrupt(path, `${name} missing`);
  const bytes = new Uint8Array(Buffer.from(value, 'base64'));
  if (bytes.length !== len) throw corrupt(path, `${name} is ${bytes.length} bytes, expected ${len}`);
  return bytes;
}

function parseIdentity(path: string, payload: Uint8Array): { identity: NodeIdentity; createdAt: number | undefined } {
  let doc: Partial<IdentityFileV1>;
  try {
    doc = JSON.parse(Buffer.from(payload).toString('utf8')) as Partial<IdentityFileV1>;
  } catch (err) {
    throw corrupt(path, 'not valid JSON', err);
  }
  if (typeof doc !== 'object' || doc === null || doc.format !== FORMAT) throw corrupt(path, `format is not "${FORMAT}"`);
  if (doc.v !== 1) throw corrupt(path, `unsupported identity file version ${String(doc.v)}`);
  const seed = decodeKey(path, doc.signing?.seed, 32, 'signing.seed');
  const signingPk = decodeKey(path, doc.signing?.publicKey, 32, 'signing.publicKey');
  const boxSk = decodeKey(path, doc.box?.secretKey, 32, 'box.secretKey');
  const boxPk = decodeKey(path, doc.box?.publicKey, 32, 'box.publicKey');
  const signing = keyPairFromSeed(seed);
  if (!Buffer.from(signing.publicKey).equals(signingPk)) throw corrupt(path, 'signing public key does not match its seed');
  const box = nacl.box.keyPair.fromSecretKey(boxSk);
  if (!Buffer.from(box.publicKey).equals(boxPk)) throw corrupt(path, 'box public key does not match its secret key');
  const nodeId = nodeIdFromPublicKey(signing.publicKey);
  if (doc.nodeId !== nodeId) throw corrupt(path, `nodeId ${String(doc.nodeId)} does not match the signing key (${nodeId})`);
  return { identity: withRedaction({ nodeId, signing, box: { publicKey: box.publicKey, secretKey: box.secretKey } }), createdAt: doc.createdAt };
}

function readPayload(path: string): Uint8Array | undefined {
  try {
    return readFileChecked(path);
  } catch (err) {
    if (err instanceof H3lixError && err.code === 'STORE_CORRUPT') throw corrupt(path, String(err.detail?.reason ?? err.message), err);
    throw err;
  }
}

/** Read and verify `<dataDir>/identity.json`; `undefined` when absent. Throws STORE_CORRUPT / STORE_IO. */
export function readIdentity(dataDir: string): NodeIdentity | undefined {
  const path = join(dataDir, IDENTITY_FILE);
  const payload = readPayload(path);
  return payload === undefined ? undefined : parseIdentity(path, payload).identity;
}

/** The public part of the stored identity, for inspection; `undefined` when absent. */
export function readPublicIdentity(dataDir: string): PublicIdentity | undefined {
  const path = join(dataDir, IDENTITY_FILE);
  const payload = readPayload(path);
  if (payload === undefined) return undefined;
  const { identity, createdAt } = parseIdentity(path, payload);
  return { nodeId: identity.nodeId, signingPublicKey: identity.signing.publicKey, boxPublicKey: identity.box.publicKey, createdAt };
}

/**
 * Load this node's identity from `<dataDir>/identity.json`, creating it on first start (written
 * 0600 via temp + fsync + rename + fsync(dir), with a sha256 trailer). A present but torn, corrupt or
 * inconsistent file throws STORE_CORRUPT and is left untouched: it is never silently regenerated,
 * because a new key means a new node id. A group/world-readable file is tightened to 0600 (warned).
 */
export function loadOrCreateIdentity(dataDir: string, opts: LoadIdentityOptions = {}): NodeIdentity {
  const path = join(dataDir, IDENTITY_FILE);
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new H3lixError('STORE_IO', `cannot create data directory ${dataDir}`, { cause: err, detail: { path: dataDir } });
  }
  const existing = readIdentity(dataDir);
  if (existing) {
    try {
      if ((statSync(path).mode & 0o077) !== 0) {
        chmodSync(path, 0o600);
        opts.logger?.warn({ path }, 'identity file was readable by others; permissions reset to 0600');
      }
    } catch {
      /* best effort: the keys were readable anyway */
    }
    return existing;
  }
  // Temps from a crash before the rename were never acknowledged; discard them.
  removeStaleTemps(path);
  if (existsSync(join(dataDir, 'h3lix.db'))) {
    opts.logger?.warn({ path }, 'identity file missing although a store exists: starting as a NEW node id (restore identity.json from a backup to keep the old one)');
  }
  const signing = generateKeyPair();
  const box = nacl.box.keyPair();
  const nodeId = nodeIdFromPublicKey(signing.publicKey);
  const doc: IdentityFileV1 = {
    format: FORMAT,
    v: 1,
    nodeId,
    createdAt: (opts.now ?? Date.now)(),
    signing: { publicKey: b64(signing.publicKey), seed: b64(signing.seed) },
    box: { publicKey: b64(box.publicKey), secretKey: b64(box.secretKey) },
  };
  writeFileAtomic(path, Buffer.from(JSON.stringify(doc, null, 2), 'utf8'), 0o600);
  opts.logger?.info({ nodeId, path }, 'created new node identity');
  return withRedaction({ nodeId, signing, box: { publicKey: box.publicKey, secretKey: box.secretKey } });
}

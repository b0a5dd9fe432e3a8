import t from 'tap';
import nacl from 'tweetnacl';
import { inspect } from 'node:util';
import { chmodSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadOrCreateIdentity, readIdentity, readPublicIdentity } from '../../src/store/identity.js';
import { nodeIdFromPublicKey } from '../../src/crypto/node-id.js';
import { createSigner, verify } from '../../src/crypto/ed25519.js';
import { H3lixError } from '../../src/errors.js';

t.test('created once 0600, reloaded identical, keys consistent and usable', async (t) => {
  const dir = join(t.testdir(), 'data');
  const logs: unknown[] = [];
  const logger = { debug() {}, info: (o: unknown) => logs.push(o), warn() {}, error() {}, child() { return logger; } };
  const a = loadOrCreateIdentity(dir, { logger });
  t.equal(a.nodeId, nodeIdFromPublicKey(a.signing.publicKey));
  t.equal(statSync(join(dir, 'identity.json')).mode & 0o777, 0o600);
  const b = loadOrCreateIdentity(dir);
  t.equal(b.nodeId, a.nodeId, 'same node id after reload');
  t.same(Buffer.from(b.signing.seed), Buffer.from(a.signing.seed));
  t.same(Buffer.from(b.box.secretKey), Buffer.from(a.box.secretKey));
  const msg = new TextEncoder().encode('hello');
  t.ok(verify(a.signing.publicKey, msg, createSigner(b.signing).sign(msg)), 'signing key works');
  const sealed = nacl.box(msg, new Uint8Array(24), a.box.publicKey, b.box.secretKey);
  t.ok(nacl.box.open(sealed, new Uint8Array(24), b.box.publicKey, a.box.secretKey), 'box keys are a tweetnacl pair');
  t.equal(logs.length, 1, 'creation logged once');
  const logged = JSON.stringify(logs);
  t.notMatch(logged, Buffer.from(a.signing.seed).toString('base64'));
  t.equal(readPublicIdentity(dir)?.nodeId, a.nodeId);
});

t.test('private keys are redacted when printed, inspected or JSON-serialised', async (t) => {
  const id = loadOrCreateIdentity(t.testdir());
  const seed = Buffer.from(id.signing.seed).toString('base64');
  const boxSk = Buffer.from(id.box.secretKey).toString('base64');
  for (const text of [JSON.stringify(id), inspect(id), `${inspect({ nested: id })}`]) {
    t.notMatch(text, seed);
    t.notMatch(text, boxSk);
    t.match(text, id.nodeId);
  }
});

const corruptions: Array<[string, (raw: string) => string]> = [
  ['truncated (torn write)', (raw) => raw.slice(0, Math.floor(raw.length / 2))],
  ['empty file', () => ''],
  ['one byte flipped', (raw) => raw.replace(/"seed": "(.)/, (_m, c: string) => `"seed": "${c === 'A' ? 'B' : 'A'}`)],
  ['trailer removed', (raw) => raw.slice(0, raw.lastIndexOf('\n#h3lix-sha256'))],
];

for (const [name, damage] of corruptions) {
  t.test(`corrupt identity (${name}): STORE_CORRUPT, never regenerated, file untouched`, async (t) => {
    const dir = t.testdir();
    loadOrCreateIdentity(dir);
    const path = join(dir, 'identity.json');
    const damaged = damage(readFileSync(path, 'utf8'));
    writeFileSync(path, damaged, { mode: 0o600 });
    const err = t.throws(() => loadOrCreateIdentity(dir)) as H3lixError;
    t.equal(err.code, 'STORE_CORRUPT');
    t.match(err.message, /identity file .* unusable/);
    t.match(err.message, /Refusing to create a new identity/);
    t.equal(readFileSync(path, 'utf8'), damaged, 'left as it was for the operator');
    t.throws(() => readIdentity(dir), { code: 'STORE_CORRUPT' });
  });
}

t.test('checksum-valid but inconsistent content is rejected by the key checks', async (t) => {
  const { writeFileAtomic, readFileChecked } = await import('../../src/store/atomic-file.js');
  const dir = t.testdir();
  loadOrCreateIdentity(dir);
  const path = join(dir, 'identity.json');
  const doc = JSON.parse(Buffer.from(readFileChecked(path)!).toString()) as Record<string, unknown> & { signing: { publicKey: string }; box: { publicKey: string } };
  const other = nacl.sign.keyPair();
  const cases: Array<[string, object, RegExp]> = [
    ['wrong node id', { ...doc, nodeId: 'nzzzzzzzzzzzzzzzz' }, /does not match the signing key/],
    ['public key not from seed', { ...doc, signing: { ...doc.signing, publicKey: Buffer.from(other.publicKey).toString('base64') } }, /does not match its seed/],
    ['box mismatch', { ...doc, box: { ...doc.box, publicKey: Buffer.from(nacl.box.keyPair().publicKey).toString('base64') } }, /box public key/],
    ['short key', { ...doc, box: { ...doc.box, publicKey: 'AAAA' } }, /expected 32/],
    ['wrong format', { ...doc, format: 'x' }, /format/],
    ['future version', { ...doc, v: 9 }, /version 9/],
  ];
  for (const [name, body, re] of cases) {
    writeFileAtomic(path, Buffer.from(JSON.stringify(body)));
    const err = t.throws(() => loadOrCreateIdentity(dir), name) as H3lixError;
    t.equal(err.code, 'STORE_CORRUPT', name);
    t.match(err.message, re, name);
  }
  writeFileAtomic(path, Buffer.from('not json'));
  t.match((t.throws(() => loadOrCreateIdentity(dir)) as H3lixError).message, /not valid JSON/);
});

t.test('stale temp files from a crash before rename are removed; loose permissions are tightened', async (t) => {
  const dir = t.testdir({ 'identity.json.tmp-abc123': 'half written' });
  const id = loadOrCreateIdentity(dir);
  t.same(readdirSync(dir), ['identity.json']);
  chmodSync(join(dir, 'identity.json'), 0o644);
  const warnings: unknown[] = [];
  const logger = { debug() {}, info() {}, warn: (o: unknown) => warnings.push(o), error() {}, child() { return logger; } };
  t.equal(loadOrCreateIdentity(dir, { logger }).nodeId, id.nodeId);
  t.equal(statSync(join(dir, 'identity.json')).mode & 0o777, 0o600);
  t.equal(warnings.length, 1);
});

t.test('readIdentity / readPublicIdentity on an empty directory return undefined and create nothing', async (t) => {
  const dir = t.testdir();
  t.equal(readIdentity(dir), undefined);
  t.equal(readPublicIdentity(dir), undefined);
  t.same(readdirSync(dir), []);
});

t.test('a missing identity next to an existing store creates a new one with a loud warning', async (t) => {
  const dir = t.testdir({ 'h3lix.db': '' });
  const warnings: unknown[] = [];
  const logger = { debug() {}, info() {}, warn: (o: unknown, m?: string) => warnings.push(m), error() {}, child() { return logger; } };
  const id = loadOrCreateIdentity(dir, { logger });
  t.ok(id.nodeId);
  t.match(String(warnings[0]), /NEW node id/);
});

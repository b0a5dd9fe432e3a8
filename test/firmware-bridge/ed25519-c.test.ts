import t from 'tap';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createSigner, generateKeyPair, keyPairFromSeed, verify } from '../../src/crypto/ed25519.js';
import { firmwareDir } from '../../firmware-bridge/src/firmware/run.js';
import { firmwareSkipReason } from './firmware-helpers.js';

// The firmware's own Ed25519 verifier (firmware/src/ed25519.c, sha512.c) against Node's crypto (OpenSSL):
// RFC 8032 section 7.1 vectors, thousands of random signatures and their mutations, fed to a host CLI
// built from the firmware's C (firmware/tools/ed25519_cli.c). Negative control: a CLI built with
// -DH3LIX_TEST_NO_SCALAR_CHECK (S >= L not refused) must be caught accepting S + L.
const skip = firmwareSkipReason('host');
const N = 1500;
const L = (1n << 252n) + 27742317777372353535851937790883648493n;

function cli(name: string): (lines: string[]) => string[] {
  execFileSync('make', ['-s', '-C', firmwareDir(), `build/${name}`], { stdio: 'ignore' });
  const bin = join(firmwareDir(), 'build', name);
  return (lines) => execFileSync(bin, { input: lines.join('\n') + '\n', maxBuffer: 1 << 26 }).toString().trim().split('\n');
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const flip = (b: Uint8Array, bit: number): Buffer => {
  const c = Buffer.from(b);
  c[bit >> 3]! ^= 1 << (bit & 7);
  return c;
};
/** S + L, still 32 bytes (S < L < 2^253): the same group element, a different encoding. */
function plusL(sig: Uint8Array): Buffer {
  const s = BigInt('0x' + Buffer.from(sig.subarray(32)).reverse().toString('hex')) + L;
  const le = Buffer.from(s.toString(16).padStart(64, '0'), 'hex').reverse();
  return Buffer.concat([sig.subarray(0, 32), le]);
}

// RFC 8032 7.1: TEST 1, 2, 3, SHA(abc) (secret key, public key, message, signature)
const RFC = [
  ['9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', '', 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'],
  ['4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', '72', '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'],
  ['c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7', 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025', 'af82', '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a'],
  ['833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42', 'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf', 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f', 'dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704'],
] as const;

t.test('RFC 8032 7.1 vectors: Node derives the same keys and signatures, the firmware verifier accepts them', { skip }, async (t) => {
  const run = cli('ed25519-cli');
  for (const [sk, pk, msg, sig] of RFC) {
    const pair = keyPairFromSeed(Buffer.from(sk, 'hex'));
    t.equal(hex(pair.publicKey), pk, `public key of ${sk.slice(0, 8)}…`);
    t.equal(hex(createSigner(pair).sign(Buffer.from(msg, 'hex'))), sig, 'Node signs to the vector');
    t.ok(verify(Buffer.from(pk, 'hex'), Buffer.from(msg, 'hex'), Buffer.from(sig, 'hex')), 'Node verifies the vector');
  }
  t.same(run(RFC.map(([, pk, msg, sig]) => `v ${pk} ${sig} ${msg}`)), ['1', '1', '1', '1']);
});

t.test('SHA-512 of random messages (0..300 bytes, every padding boundary) equals Node', { skip }, async (t) => {
  const run = cli('ed25519-cli');
  const msgs = Array.from({ length: 301 }, (_, n) => randomBytes(n));
  const got = run(msgs.map((m) => `h ${hex(m)}`));
  const bad = msgs.filter((m, i) => got[i] !== createHash('sha512').update(m).digest('hex'));
  t.equal(bad.length, 0, `${msgs.length} digests, mismatches: ${bad.map((m) => m.length).join(',')}`);
});

interface Case { kind: string; pk: Uint8Array; sig: Uint8Array; msg: Uint8Array }
function cases(): Case[] {
  const out: Case[] = [];
  for (let i = 0; i < N; i++) {
    const pair = generateKeyPair();
    const msg = randomBytes(i % 257);
    const sig = createSigner(pair).sign(msg);
    const pk = pair.publicKey;
    const bit = (n: number): number => (i * 37 + 11) % n;
    out.push({ kind: 'valid', pk, sig, msg });
    out.push({ kind: 'R bit', pk, sig: flip(sig, bit(256)), msg });
    out.push({ kind: 'S bit', pk, sig: flip(sig, 256 + bit(256)), msg });
    out.push({ kind: 'A bit', pk: flip(pk, bit(256)), sig, msg });
    if (msg.length) out.push({ kind: 'M bit', pk, sig, msg: flip(msg, bit(msg.length * 8)) });
    out.push({ kind: 'S+L', pk, sig: plusL(sig), msg });
    out.push({ kind: 'other key', pk: generateKeyPair().publicKey, sig, msg });
  }
  return out;
}

t.test(`${N} random keys and messages: accept/reject equals Node for valid, R/S/A/M bit flips, S+L, other key`, { skip, timeout: 300_000 }, async (t) => {
  const run = cli('ed25519-cli');
  const all = cases();
  const got = run(all.map((c) => `v ${hex(c.pk)} ${hex(c.sig)} ${hex(c.msg)}`));
  const tally = new Map<string, { n: number; accepted: number; mismatch: number }>();
  all.forEach((c, i) => {
    const node = verify(c.pk, c.msg, c.sig);
    const mine = got[i] === '1';
    const e = tally.get(c.kind) ?? { n: 0, accepted: 0, mismatch: 0 };
    e.n++;
    e.accepted += mine ? 1 : 0;
    e.mismatch += mine !== node ? 1 : 0;
    tally.set(c.kind, e);
  });
  for (const [kind, e] of tally) {
    t.equal(e.mismatch, 0, `${kind}: ${e.n} cases, firmware accepted ${e.accepted}, disagreements with Node ${e.mismatch}`);
    t.equal(e.accepted, kind === 'valid' ? e.n : 0, `${kind}: ${kind === 'valid' ? 'all accepted' : 'none accepted'}`);
  }
});

t.test('non-canonical encodings: the firmware refuses them (RFC 8032 5.1.3), Node is compared', { skip }, async (t) => {
  const run = cli('ed25519-cli');
  // A = the identity (y = 1), S = 0: [0]B - [k]O = O, so R = encode(O) "verifies" for any message
  const id = Buffer.alloc(32);
  id[0] = 1;
  const idNonCanonical = Buffer.alloc(32, 0xff); // y = p + 1
  idNonCanonical[0] = 0xee;
  idNonCanonical[31] = 0x7f;
  const idSignBit = Buffer.from(id);
  idSignBit[31] = 0x80; // x = 0 with the sign bit set
  const msg = Buffer.from('h3lix');
  const sig = (r: Buffer): Buffer => Buffer.concat([r, Buffer.alloc(32)]);
  const rows: [string, Buffer, Buffer, string][] = [
    ['canonical identity A and R', id, sig(id), '1'],
    ['A with y = p + 1', idNonCanonical, sig(id), '0'],
    ['A with x = 0 and the sign bit', idSignBit, sig(id), '0'],
    ['R with y = p + 1', id, sig(idNonCanonical), '0'],
    ['R with x = 0 and the sign bit', id, sig(idSignBit), '0'],
  ];
  const got = run(rows.map(([, pk, s]) => `v ${hex(pk)} ${hex(s)} ${hex(msg)}`));
  rows.forEach(([what, pk, s, want], i) => {
    t.equal(got[i], want, `${what}: firmware ${want === '1' ? 'accepts' : 'refuses'}`);
    let node: boolean | string;
    try {
      node = verify(pk, msg, s);
    } catch (err) {
      node = `throws ${(err as Error).message}`;
    }
    t.comment(`${what}: Node says ${String(node)}`);
  });
  t.same(run([`p ${hex(idNonCanonical)}`, `p ${hex(id)}`]), ['0', '1'], 'point decoding');
});

t.test('negative control: a verifier built without the S < L check is caught accepting S + L', { skip, timeout: 120_000 }, async (t) => {
  const run = cli('ed25519-cli-noscalar');
  const all = cases().filter((c) => c.kind === 'S+L').slice(0, 200);
  const got = run(all.map((c) => `v ${hex(c.pk)} ${hex(c.sig)} ${hex(c.msg)}`));
  const accepted = got.filter((g) => g === '1').length;
  t.equal(accepted, all.length, `the broken build accepts ${accepted} of ${all.length} S + L twins`);
  t.ok(all.every((c) => !verify(c.pk, c.msg, c.sig)), 'Node refuses all of them: the comparison above would fail');
});

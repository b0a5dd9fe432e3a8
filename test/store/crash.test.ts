import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { readFileChecked } from '../../src/store/atomic-file.js';
import { openStore } from '../../src/store/db.js';
import { FieldStore } from '../../src/store/field-store.js';
import { readIdentity } from '../../src/store/identity.js';
import { SeqStore } from '../../src/store/seq-store.js';
import { ACK_LAG, DIM, KEYS, ORIGINS, contributionFor, payloadFor } from './fixtures/crash-model.js';

const WRITER = join(import.meta.dirname, 'fixtures', 'crash-writer.ts');
const TRIALS = Number(process.env.H3LIX_CRASH_TRIALS ?? 30);
/** Wall-clock budget: on a loaded CI box tsx start-up dominates, so stop early (but after MIN_TRIALS). */
const BUDGET_MS = Number(process.env.H3LIX_CRASH_BUDGET_MS ?? 32_000);
const MIN_TRIALS = Math.min(TRIALS, 8);

interface Trial {
  nodeId: string;
  start: number;
  acks: Array<{ v: number; seq: number }>;
}

/** Run the writer, SIGKILL it `killAfterMs` after its first ACK, and return what it acknowledged. */
function runWriter(dataDir: string, killAfterMs: number): Promise<Trial> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const trial: Trial = { nodeId: '', start: -1, acks: [] };
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    const failsafe = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // readline only emits complete lines, so a line torn by the kill is never counted.
    createInterface({ input: child.stdout }).on('line', (line) => {
      const [tag, a, b] = line.split(' ');
      if (tag === 'START') {
        trial.nodeId = a!;
        trial.start = Number(b);
      } else if (tag === 'ACK') {
        trial.acks.push({ v: Number(a), seq: Number(b) });
        if (!timer) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(failsafe);
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited ${code}/${signal} before the kill: ${stderr}`));
      else resolve(trial);
    });
  });
}

t.test(`SIGKILL at random instants never loses acknowledged writes (up to ${TRIALS} trials)`, async (t) => {
  const dataDir = t.testdir();
  let nodeId: string | undefined;
  let maxAck = 0;
  let maxSeq = 0;
  let lastCert = 0;
  const latestPerSlot = new Map<string, number>();
  const begun = Date.now();
  let failures = 0;
  let trial = 0;
  for (; trial < TRIALS && (trial < MIN_TRIALS || Date.now() - begun < BUDGET_MS); trial++) {
    const killAfter = Math.floor(Math.random() * 120);
    const run = await runWriter(dataDir, killAfter);
    nodeId ??= run.nodeId;
    const ok = (cond: boolean, msg: string) => {
      if (!cond) failures++;
      if (!cond) t.fail(`trial ${trial}: ${msg}`);
    };
    ok(run.nodeId === nodeId, 'node id unchanged across kills');
    ok(run.start >= maxAck, `writer resumed at ${run.start} >= last acknowledged ${maxAck}`);
    ok(run.acks.length > 0, 'writer acknowledged something before the kill');
    for (const a of run.acks) {
      maxAck = Math.max(maxAck, a.v);
      ok(a.seq > maxSeq, `seq ${a.seq} never repeats (previous max ${maxSeq})`);
      maxSeq = Math.max(maxSeq, a.seq);
      if (a.v % 10 === 0) lastCert = a.v;
      const c = contributionFor(a.v);
      latestPerSlot.set(`${c.origin}/${c.key}`, a.v);
    }

    const store = openStore({ dataDir, integrityCheck: 'full' });
    try {
      const integrity = store.db.pragma('integrity_check', { simple: true });
      ok(integrity === 'ok', `integrity_check = ${String(integrity)}`);
      const { contributions, localVersion } = new FieldStore({ store }).load();
      ok(localVersion >= maxAck, `localVersion ${localVersion} >= acknowledged ${maxAck}`);
      const bySlot = new Map(contributions.map((c) => [`${c.origin}/${c.key}`, c]));
      let fieldOk = true;
      for (const [slot, v] of latestPerSlot) {
        const c = bySlot.get(slot);
        if (!c || c.version < v) fieldOk = false;
        else {
          const want = contributionFor(c.version);
          if (c.count !== want.count || c.sum.length !== DIM || c.sum.some((x, j) => x !== want.sum[j])) fieldOk = false;
        }
      }
      ok(fieldOk && contributions.length <= ORIGINS * KEYS, 'every acknowledged contribution present, untorn');

      const rows = store.db.prepare('SELECT id, topic, payload, coalesce_key FROM outbox ORDER BY id').all() as Array<{ id: number; topic: string; payload: Buffer; coalesce_key: string | null }>;
      const digests = rows.filter((r) => r.coalesce_key === 'digest');
      ok(digests.length === 1, `exactly one coalesced digest (got ${digests.length})`);
      ok(digests[0] !== undefined && isPayloadAtLeast(digests[0].payload, maxAck), 'digest is the latest acknowledged (or newer)');
      const present = new Map(rows.filter((r) => r.coalesce_key === null).map((r) => [Number(r.topic.slice(2)), r]));
      let outboxOk = true;
      let lastId = 0;
      for (const [v, r] of [...present].sort((a, b) => a[0] - b[0])) {
        if (r.id <= lastId || !Buffer.from(payloadFor(v)).equals(r.payload)) outboxOk = false;
        lastId = r.id;
      }
      // A message may be missing only if this run's writer acked it (ACK_LAG rounds later; the ack
      // after the last printed ACK may also have committed).
      const runMax = run.acks.at(-1)?.v ?? 0;
      for (const a of run.acks) {
        if (!present.has(a.v) && !(a.v + ACK_LAG <= runMax + 1)) outboxOk = false;
      }
      ok(outboxOk, 'every acknowledged, un-acked outbox message present, FIFO, intact');

      const cert = readFileChecked(join(dataDir, 'cert.bin'));
      ok(lastCert === 0 || (cert !== undefined && Number(Buffer.from(cert).toString()) >= lastCert), `atomic file holds >= ${lastCert}`);
      ok(readIdentity(dataDir)?.nodeId === nodeId, 'identity file loads with the same node id');
      const next = new SeqStore({ store, sender: nodeId, blockSize: 1 }).next();
      ok(next > maxSeq, `seq after restart ${next} > every acknowledged seq ${maxSeq}`);
      maxSeq = next;
    } finally {
      store.close();
    }
  }
  t.equal(failures, 0, `no check failed in any of ${trial} trials`);
  t.ok(trial >= MIN_TRIALS, `${trial} kill trials ran (minimum ${MIN_TRIALS})`);
  t.ok(maxAck > trial, `acknowledged ${maxAck} rounds in total`);
  t.comment(`${trial} kill trials in ${Date.now() - begun} ms, ${maxAck} rounds acknowledged`);
});

/** The digest payload is payloadFor(v') for some v' >= v (a commit that landed before the kill but was not printed). */
function isPayloadAtLeast(payload: Buffer, v: number): boolean {
  for (let w = v; w < v + 3; w++) if (Buffer.from(payloadFor(w)).equals(payload)) return true;
  return false;
}

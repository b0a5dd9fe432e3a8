/**
 * Durable-store benchmarks (docs/store.md): outbox enqueue (fsync'd) against the naive "append +
 * fsync a file per message", outbox drain with relaxed acks against fully synced acks, field saves
 * against rewriting the whole state atomically, seq reservation against an fsync per seq, and open +
 * load time with and without the start-up integrity check. Each baseline is measured in the same run.
 * Run: `npx tsx bench/run.ts store`
 */
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Contribution } from '../src/ccf/types.js';
import { writeFileAtomic } from '../src/store/atomic-file.js';
import { openStore, type Store } from '../src/store/db.js';
import { FieldStore } from '../src/store/field-store.js';
import { Outbox } from '../src/store/outbox.js';
import { SeqStore } from '../src/store/seq-store.js';
import { percentile, rate, type BenchRow } from './row.js';

const PAYLOAD = new Uint8Array(2048).fill(7); // a typical compressed delta
const DIM = 64;

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'h3lix-store-bench-'));
}

function contribution(i: number, version: number): Contribution {
  const sum = new Float32Array(DIM);
  for (let j = 0; j < DIM; j++) sum[j] = Math.sin(i * 7 + j);
  return { origin: `n${i % 16}`, key: `concept-${Math.floor(i / 16)}`, sum, count: 20, version, hlc: { wall: 1_750_000_000_000 + version, logical: 0 } };
}

async function withStore<T>(fn: (store: Store, dir: string) => Promise<T>): Promise<T> {
  const dir = tmp();
  const store = openStore({ dataDir: dir });
  try {
    return await fn(store, dir);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];

  // 1. Durable enqueue vs append+fsync per message.
  const enqueue = await withStore(async (store) => {
    const outbox = new Outbox({ store, maxMessages: 1e6, maxBytes: 1 << 30 });
    const lat: number[] = [];
    const r = await rate(() => {
      const t0 = performance.now();
      outbox.enqueue({ topic: 'h3lix/v1/f/ccf/delta/n', payload: PAYLOAD, qos: 1, retain: false });
      lat.push(performance.now() - t0);
    }, 1500, 20);
    return { r, p99: percentile(lat.sort((a, b) => a - b), 99) };
  });
  const dirA = tmp();
  const fd = openSync(join(dirA, 'log'), 'a');
  const appendLat: number[] = [];
  const appendRate = await rate(() => {
    const t0 = performance.now();
    writeSync(fd, PAYLOAD);
    fsyncSync(fd);
    appendLat.push(performance.now() - t0);
  }, 1500, 20);
  const appendP99 = percentile(appendLat.sort((a, b) => a - b), 99);
  closeSync(fd);
  rmSync(dirA, { recursive: true, force: true });
  rows.push({ metric: 'outbox enqueue, durable (2 KB)', value: enqueue.r, unit: 'msg/s', baseline: appendRate, baselineName: 'append+fsync file', ratio: enqueue.r / appendRate, target: 'ratio >= 0.3', ok: enqueue.r / appendRate >= 0.3 });
  rows.push({ metric: 'outbox enqueue p99 latency', value: enqueue.p99, unit: 'ms', baseline: appendP99, baselineName: 'append+fsync p99', ratio: enqueue.p99 / appendP99, target: 'ratio <= 4', ok: enqueue.p99 / appendP99 <= 4 });

  // 2. Drain: peek 32 + ackMany (relaxed) vs ack one by one at synchronous=FULL.
  const drain = async (relaxed: boolean) =>
    withStore(async (store) => {
      const outbox = new Outbox({ store, maxMessages: 1e6, maxBytes: 1 << 30 });
      store.db.transaction(() => {
        for (let i = 0; i < 20_000; i++) outbox.enqueue({ topic: 't', payload: PAYLOAD.subarray(0, 256), qos: 1, retain: false });
      })();
      const t0 = performance.now();
      let n = 0;
      while (performance.now() - t0 < 1000) {
        const batch = outbox.peek(32);
        if (!batch.length) break;
        if (relaxed) outbox.ackMany(batch.map((m) => m.id));
        else for (const m of batch) store.db.prepare('DELETE FROM outbox WHERE id = ?').run(m.id);
        n += batch.length;
      }
      return n / ((performance.now() - t0) / 1000);
    });
  const drainOurs = await drain(true);
  const drainBase = await drain(false);
  rows.push({ metric: 'outbox drain (peek 32 + ackMany)', value: drainOurs, unit: 'msg/s', baseline: drainBase, baselineName: 'fsync per ack', ratio: drainOurs / drainBase, target: 'ratio >= 2', ok: drainOurs / drainBase >= 2 });

  // 3. Field save: 64 changed contributions per transaction in a 1024-row field, vs rewriting the
  //    whole field as one atomic checksummed file (the "atomic rename" alternative).
  const fieldRate = await withStore(async (store) => {
    const fs = new FieldStore({ store });
    fs.save(Array.from({ length: 1024 }, (_, i) => contribution(i, 1)), 1);
    let v = 1;
    return rate(() => {
      v++;
      fs.save(Array.from({ length: 64 }, (_, i) => contribution((v * 64 + i) % 1024, v)), v);
    }, 1500, 5);
  });
  const dirF = tmp();
  const whole = Buffer.alloc(1024 * (DIM * 4 + 64));
  const wholeRate = await rate(() => writeFileAtomic(join(dirF, 'field.bin'), whole), 1500, 5);
  rmSync(dirF, { recursive: true, force: true });
  rows.push({ metric: 'field save, 64 of 1024 contributions (d=64)', value: fieldRate, unit: 'txn/s', baseline: wholeRate, baselineName: 'atomic rewrite of whole field', ratio: fieldRate / wholeRate, target: 'ratio >= 1', ok: fieldRate >= wholeRate });

  // 4. Seq: block reservation vs an fsync'd write per seq.
  const seqRate = (block: number) => withStore(async (store) => {
    const seq = new SeqStore({ store, sender: 'n', blockSize: block });
    return rate(() => seq.next(), 800, 50);
  });
  const seqOurs = await seqRate(1000);
  const seqBase = await seqRate(1);
  rows.push({ metric: 'seq.next (block 1000)', value: seqOurs, unit: 'seq/s', baseline: seqBase, baselineName: 'fsync per seq', ratio: seqOurs / seqBase, target: 'ratio >= 10', ok: seqOurs / seqBase >= 10 });

  // 5. Open + load a 10k-contribution field, with the quick_check vs without.
  const dirO = tmp();
  {
    const s = openStore({ dataDir: dirO });
    new FieldStore({ store: s }).save(Array.from({ length: 10_000 }, (_, i) => ({ ...contribution(i, 1), key: `concept-${i}` })), 1);
    s.close();
  }
  const openLoad = (check: 'quick' | 'off') => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const s = openStore({ dataDir: dirO, integrityCheck: check });
      new FieldStore({ store: s }).load();
      times.push(performance.now() - t0);
      s.close();
    }
    return times.sort((a, b) => a - b)[2]!;
  };
  const withCheck = openLoad('quick');
  const noCheck = openLoad('off');
  rmSync(dirO, { recursive: true, force: true });
  rows.push({ metric: 'open + load 10k contributions (median)', value: withCheck, unit: 'ms', baseline: noCheck, baselineName: 'without quick_check', ratio: withCheck / noCheck, target: '<= 1000 ms', ok: withCheck <= 1000 });
  return rows;
}

/**
 * Embedded broker resource limits (issue 9): RSS of this process while a client sends a 50 MB and a
 * 200 MB PUBLISH to the embedded broker with its limits on, against the same 50 MB PUBLISH with the
 * packet limit switched off (aedes buffers it: the baseline), measured in the same run; and 2,000 idle
 * sockets that never send CONNECT, with the time a legitimate client then needs to connect.
 * Run: `npm run bench -- broker-limits` (node --expose-gc makes the idle RSS steadier; optional).
 */
import { connect, type Socket } from 'node:net';
import mqtt from 'mqtt';
import { EmbeddedBroker } from '../src/sync/embedded-broker.js';
import type { BenchRow } from './row.js';
import { connectPacket, publishHeader } from '../test/helpers/mqtt-bytes.js';

const MB = 1024 * 1024;
const rss = () => process.memoryUsage().rss / MB;
const gc = () => (globalThis as { gc?: () => void }).gc?.();

function raw(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** CONNECT, then a PUBLISH of `bytes` streamed in 1 MB writes until done or the broker closes us. Returns peak RSS. */
async function bigPublish(port: number, bytes: number): Promise<{ peak: number; sent: number; cut: boolean }> {
  const s = await raw(port);
  s.on('error', () => undefined);
  s.write(connectPacket('big'));
  s.write(publishHeader('x/big', bytes));
  let peak = rss();
  const timer = setInterval(() => (peak = Math.max(peak, rss())), 20);
  const chunk = Buffer.alloc(MB, 0x61);
  let sent = 0;
  let cut = false;
  s.once('close', () => (cut = true));
  while (sent < bytes && !cut) {
    const n = Math.min(MB, bytes - sent);
    const ok = s.write(n === MB ? chunk : chunk.subarray(0, n));
    sent += n;
    if (!ok) await new Promise<void>((r) => (cut ? r() : (s.once('drain', () => r()), s.once('close', () => r()))));
  }
  await new Promise((r) => setTimeout(r, 300));
  peak = Math.max(peak, rss());
  clearInterval(timer);
  s.destroy();
  return { peak, sent, cut };
}

async function legitConnectMs(url: string): Promise<number> {
  const t0 = performance.now();
  const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000 });
  const ms = performance.now() - t0;
  await c.endAsync(true);
  return ms;
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const guarded = new EmbeddedBroker({ port: 0 });
  await guarded.start();
  gc();
  const idle = rss();
  const p50 = await bigPublish(guarded.port, 50 * MB);
  const p200 = await bigPublish(guarded.port, 200 * MB);
  const afterMs = await legitConnectMs(guarded.url);
  gc();
  const after = rss();
  const open = new EmbeddedBroker({ port: 0, defencesOff: new Set(['packet-limit']) });
  await open.start();
  const base50 = await bigPublish(open.port, 50 * MB);
  await open.stop();
  rows.push({ metric: '50 MB PUBLISH: peak RSS above idle (limits on)', value: p50.peak - idle, unit: 'MB', baseline: base50.peak - idle, baselineName: 'packet limit off', ratio: (p50.peak - idle) / Math.max(1, base50.peak - idle), target: '<= 20 MB above idle', ok: p50.peak - idle <= 20 });
  rows.push({ metric: `200 MB PUBLISH: peak RSS above idle (limits on; ${(p200.sent / MB).toFixed(0)} MB written before the cut)`, value: p200.peak - idle, unit: 'MB', target: '<= 20 MB above idle', ok: p200.peak - idle <= 20 && p200.cut });
  rows.push({ metric: 'RSS after both, above idle', value: after - idle, unit: 'MB', target: '<= 20 MB', ok: after - idle <= 20 });
  rows.push({ metric: 'legitimate CONNECT after the big PUBLISHes', value: afterMs, unit: 'ms', target: '< 1000 ms', ok: afterMs < 1000 });

  gc();
  const idle2 = rss();
  const sockets: Socket[] = [];
  for (let i = 0; i < 2000; i++) {
    const s = await raw(guarded.port).catch(() => undefined);
    if (s) {
      s.on('error', () => undefined);
      sockets.push(s);
    }
  }
  const connectMs = await legitConnectMs(guarded.url);
  gc();
  const held = rss() - idle2;
  const open2 = sockets.filter((s) => !s.destroyed).length;
  rows.push({ metric: `2,000 idle sockets (never CONNECT): RSS above idle (${open2} still open, ${guarded.refusals.get('pending-evicted') ?? 0} evicted)`, value: held, unit: 'MB', target: '<= 20 MB above idle (client and broker share this process)', ok: held <= 20 });
  rows.push({ metric: 'legitimate CONNECT with 2,000 idle sockets', value: connectMs, unit: 'ms', target: '< 1000 ms', ok: connectMs < 1000 });
  sockets.forEach((s) => s.destroy());
  await guarded.stop();
  return rows;
}

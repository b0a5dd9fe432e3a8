/**
 * StatusServer against bad input, on real loopback sockets with a fixed provider (unit level). Each
 * defence is shown failing when switched off: the same request against a server without the token,
 * with a larger header limit, or with a long headers timeout gets through.
 */
import t from 'tap';
import { StatusServer, type StatusProvider } from '../../src/status/server.js';
import type { StatusSummary } from '../../src/status/summary.js';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { until } from '../helpers/until.js';
import { get, raw } from './http.js';

function summary(extra: Partial<StatusSummary> = {}): StatusSummary {
  return {
    v: 1, node: 'ntest', fleet: 'f', board: 'generic-x86', time: Date.now(), from: 'daemon', mqtt: 'connected', energy: null,
    field: { contributions: 0, keyCount: 0, originCount: 0, digest: 'ab', keys: [] }, peers: [], privacy: null, outbox: { messages: 0, bytes: 0 }, sync: null, learning: null, power: null, ...extra,
  };
}
const provider = (big = ''): StatusProvider => ({ summary: () => summary({ board: 'b' + big }), history: () => ({ from: 0, to: 0, points: [], modes: [], sourcePoints: 0 }) });

async function server(t: { teardown(fn: () => unknown): void }, o: Partial<ConstructorParameters<typeof StatusServer>[0]> = {}): Promise<{ s: StatusServer; base: string }> {
  const s = new StatusServer({ provider: provider(), clock: systemClock, logger: silentLogger(), port: 0, ...o });
  await s.start();
  t.teardown(() => s.stop());
  return { s, base: `http://127.0.0.1:${s.port}` };
}

t.test('paths and methods', async (t) => {
  const { base, s } = await server(t);
  const page = await get(base + '/');
  t.equal(page.status, 200);
  t.match(page.headers['content-security-policy'], /default-src 'none'/, 'CSP forbids any external resource');
  t.match(page.body, /<script src="app.js">/);
  t.equal((await get(base + '/app.js')).status, 200);
  t.equal((await get(base + '/app.css')).status, 200);
  t.equal((await get(base + '/healthz')).body, 'ok\n');
  t.equal(JSON.parse((await get(base + '/api/status')).body).node, 'ntest');
  const nf = await get(base + '/../../etc/passwd');
  t.equal(nf.status, 404, 'unknown path');
  t.match(JSON.parse(nf.body).error, /no such path: \/etc\/passwd/, 'names the path (normalised)');
  const post = await get(base + '/api/status', { method: 'POST' });
  t.equal(post.status, 405);
  t.equal(post.headers.allow, 'GET, HEAD');
  const head = await get(base + '/metrics', { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(head.body, '', 'HEAD has no body');
  t.ok((s.requests['404'] ?? 0) >= 1 && (s.requests['405'] ?? 0) >= 1, 'counted by status');
});

t.test('token: required beyond loopback, accepted as bearer, query or cookie; refused otherwise', async (t) => {
  const token = 'tok-0123456789abcdef0123';
  const { base } = await server(t, { token });
  for (const path of ['/', '/api/status', '/metrics', '/events', '/app.js']) {
    const r = await get(base + path);
    t.equal(r.status, 401, `${path} without token`);
  }
  t.match((await get(base + '/')).body, /needs the token from the node data dir/, 'says where the token is');
  t.equal((await get(base + '/api/status', { headers: { authorization: 'Bearer wrong-token-0000000000' } })).status, 401, 'wrong token');
  t.equal((await get(base + '/api/status?token=' + token.slice(0, -1))).status, 401, 'truncated token');
  t.equal((await get(base + '/api/status', { headers: { authorization: `Bearer ${token}` } })).status, 200, 'bearer');
  const q = await get(base + '/?token=' + token);
  t.equal(q.status, 200, 'query');
  const cookie = String(q.headers['set-cookie']).split(';')[0]!;
  t.match(cookie, /^h3lix_status=/);
  t.match(String(q.headers['set-cookie']), /HttpOnly; SameSite=Strict/);
  t.equal((await get(base + '/app.js', { headers: { cookie } })).status, 200, 'cookie set by the page load');
  // control: the same request without the defence gets through
  const open = await server(t, {});
  t.equal((await get(open.base + '/api/status')).status, 200, 'control: no token configured → 200');
});

t.test('huge headers → 431, the server keeps serving', async (t) => {
  const { base, s } = await server(t, { maxHeaderBytes: 4096 });
  const big = { 'x-junk': 'a'.repeat(16 * 1024) };
  const r = await get(base + '/', { headers: big }).catch((e: Error) => ({ status: -1, body: e.message, headers: {} }));
  t.equal(r.status, 431, 'request header fields too large');
  t.equal((await get(base + '/healthz')).status, 200, 'next request served');
  t.ok((s.requests['client-error'] ?? 0) >= 1, 'counted');
  const loose = await server(t, { maxHeaderBytes: 32 * 1024 });
  t.equal((await get(loose.base + '/', { headers: big })).status, 200, 'control: a larger limit lets the same request in');
});

t.test('slow client (headers never finish) → 408 and closed; a long timeout keeps it (control)', async (t) => {
  const fast = await server(t, { headersTimeoutMs: 300 });
  const slow = await server(t, { headersTimeoutMs: 60_000 });
  const partial = 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: 1';
  const a = await raw(fast.s.port, partial);
  const b = await raw(slow.s.port, partial);
  t.teardown(() => b.socket.destroy());
  await until(() => a.closed(), 10_000, 'slow client closed');
  t.match(a.received(), /^HTTP\/1\.1 408/, 'answered 408');
  t.notOk(b.closed(), 'control: with a 60 s headers timeout the same client is still connected');
  t.equal((await get(fast.base + '/healthz')).status, 200, 'server still serves');
});

t.test('connections beyond maxConnections are closed at once; streams beyond maxStreams get 503', async (t) => {
  const { s, base } = await server(t, { maxConnections: 3, maxStreams: 2, headersTimeoutMs: 30_000 });
  const idle = [await raw(s.port, 'GET / HTTP/1.1\r\n'), await raw(s.port, 'GET / HTTP/1.1\r\n'), await raw(s.port, 'GET / HTTP/1.1\r\n')];
  const extra = await raw(s.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  await until(() => extra.closed(), 5000, 'extra connection closed');
  t.equal(extra.received(), '', 'closed without an answer');
  t.ok(idle.every((c) => !c.closed()), 'the first three are untouched');
  for (const c of idle) c.socket.destroy();
  await until(() => s.connectionCount === 0, 5000, 'server saw the idle connections close');
  const s1 = await raw(s.port, 'GET /events HTTP/1.1\r\nHost: x\r\n\r\n');
  const s2 = await raw(s.port, 'GET /events HTTP/1.1\r\nHost: x\r\n\r\n');
  t.teardown(() => {
    s1.socket.destroy();
    s2.socket.destroy();
  });
  await until(() => s.streamCount === 2, 5000, 'two streams open');
  t.match(s1.received(), /text\/event-stream[\s\S]*event: hello[\s\S]*event: status/, 'stream opens with hello and status');
  const third = await get(base + '/events');
  t.equal(third.status, 503, 'third stream refused');
  t.match(third.body, /too many event streams/);
});

t.test('an event-stream client that stops reading is dropped; a reading one stays', async (t) => {
  const blob = 'x'.repeat(64 * 1024);
  const s = new StatusServer({ provider: { summary: () => summary({ board: blob + Math.random() }), history: () => ({ from: 0, to: 0, points: [], modes: [], sourcePoints: 0 }) }, clock: systemClock, logger: silentLogger(), port: 0, pushIntervalMs: 5 });
  await s.start();
  t.teardown(() => s.stop());
  const stalled = await raw(s.port, 'GET /events HTTP/1.1\r\nHost: x\r\n\r\n');
  stalled.socket.pause();
  const reader = await raw(s.port, 'GET /events HTTP/1.1\r\nHost: x\r\n\r\n');
  t.teardown(() => {
    stalled.socket.destroy();
    reader.socket.destroy();
  });
  await until(() => (s.requests['stream-dropped'] ?? 0) >= 1, 30_000, 'stalled stream dropped');
  t.equal(s.requests['stream-dropped'], 1, 'only the stalled one');
  t.notOk(reader.closed(), 'control: the client that reads is still connected');
});

import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { plugOnly, resolvePlugs, withPlug, type InboundFilter } from '../../src/daemon/core-plug.js';
import type { Feature } from '../../src/daemon/feature.js';

const idle: Feature = { name: 'x', start: () => Promise.resolve(), stop: () => Promise.resolve() };

t.test('subscriptions add up and inbound stages chain in feature order', (t) => {
  const seen: string[] = [];
  const stage = (tag: string, drop = false): InboundFilter => (topic, payload, deliver) => {
    seen.push(tag);
    if (!drop) deliver(`${topic}/${tag}`, payload);
  };
  const r = resolvePlugs([plugOnly({ name: 'a', subscriptions: ['s/a'], inbound: stage('a') }), () => idle, plugOnly({ name: 'b', subscriptions: ['s/b'], inbound: stage('b') })]);
  t.same(r.subscriptions, ['s/a', 's/b']);
  const out: string[] = [];
  r.inbound!('t', Buffer.from('p'), (topic) => out.push(topic));
  t.same(seen, ['a', 'b'], 'a first, then b');
  t.same(out, ['t/a/b'], 'the message reached the core through both stages');
  const dropped = resolvePlugs([plugOnly({ name: 'a', inbound: stage('a', true) }), plugOnly({ name: 'b', inbound: stage('b') })]);
  seen.length = 0;
  out.length = 0;
  dropped.inbound!('t', Buffer.from('p'), (topic) => out.push(topic));
  t.same(seen, ['a'], 'a stage that consumes a message stops the chain');
  t.same(out, []);
  t.end();
});

t.test('two features filling one seam is a composition error naming both', (t) => {
  const login = { credentials: () => ({ username: 'u', password: 'p' }) };
  t.throws(() => resolvePlugs([plugOnly({ name: 'fleet', login }), plugOnly({ name: 'other', login })]), { code: 'CONFIG_INVALID', message: /'fleet' and 'other' both fill the core seam 'login.credentials'/ });
  t.throws(() => resolvePlugs([plugOnly({ name: 'a', excludeOrigin: () => false }), plugOnly({ name: 'b', excludeOrigin: () => true })]), { message: /seam 'excludeOrigin'/ });
  // control: different seams combine
  const r = resolvePlugs([plugOnly({ name: 'fleet', login }), plugOnly({ name: 'other', login: { url: 'mqtt://x' } })]);
  t.same(r.owners, { 'login.credentials': 'fleet', 'login.url': 'other' });
  t.end();
});

t.test('withPlug keeps the factory working', async (t) => {
  const f = withPlug(() => idle, { name: 'p' });
  t.equal(f.plug.name, 'p');
  t.equal((await f({} as never)).name, 'x');
});

/** Import specifiers of a TypeScript source. */
function imports(src: string): string[] {
  return [...src.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
}
const forbidden = (src: string): string[] => [...imports(src).filter((i) => /\/fleet\//.test(i) || /x509|certificate/i.test(i)), ...(/certificate/i.test(src.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')) ? ['code mentions certificates'] : [])];

t.test('the daemon core knows nothing about the fleet or certificates (issue 9 item 7)', (t) => {
  for (const f of ['daemon.ts', 'feature.ts', 'core-plug.ts', 'login-client.ts']) {
    const src = readFileSync(join(import.meta.dirname, '../../src/daemon', f), 'utf8');
    t.same(forbidden(src), [], `${f}: no fleet import, no certificate in its code`);
  }
  // control: the check sees what the old core had
  t.not(forbidden("import type { FleetNode } from '../fleet/fleet-node.js';").length, 0, 'control: a fleet import is flagged');
  t.not(forbidden("if (presence.certificate) p.certificate = x;").length, 0, 'control: certificate handling is flagged');
  t.end();
});

import t from 'tap';
import type mqtt from 'mqtt';
import { createSigner } from '../../../src/crypto/ed25519.js';
import { encodeEnvelope } from '../../../src/ccf/codec/envelope.js';
import { issueRevocationList } from '../../../src/fleet/revocation.js';
import { until } from '../../helpers/until.js';
import { count, type Login, type Rig } from './rig.js';
import { refused, runArea, type HostileCase } from './area.js';
import { MOSQUITTO_PUB, MOSQUITTO_SUB, noMosquittoClients, run } from './tools.js';

/**
 * Broker authorization on a real gateway daemon's embedded broker: a node publishes only under its own
 * `<node>` topics, a claim holder only its provisioning request; subscriptions outside the rules get
 * SUBACK 0x80 (control `acl`: the broker routes / grants them); payloads over the limits are refused
 * after the header (control `payload-limit`: routed).
 */
const OUTSIDE = 'publish outside own topics';
const rid = (hex: string) => `r${hex.repeat(20).slice(0, 20)}`;

/** Publish from a fresh connection; refused: counted and the connection closed [MQTT-3.3.5-2]; accepted: aedes routed it. */
function pub(name: string, who: (r: Rig) => Login, topic: (r: Rig) => string, payload: (r: Rig) => Uint8Array, o: { reason?: string; defence?: 'acl' | 'payload-limit'; retain?: boolean } = {}): HostileCase {
  const reason = o.reason ?? OUTSIDE;
  return {
    name,
    defence: o.defence ?? 'acl',
    attack: async (r) => {
      const before = count(r.refusals, reason);
      const login = who(r);
      const c = await r.connect(login);
      const routed = r.routed(topic(r), login.clientId);
      c.publish(topic(r), Buffer.from(payload(r)), { qos: 1, retain: o.retain ?? false });
      const wasRouted = await routed;
      await until(() => !c.connected, 1000, 'closed').catch(() => undefined);
      const closed = !c.connected;
      await c.endAsync(true);
      return wasRouted ? { accepted: true } : refused(`${reason} +1, connection closed`, closed && count(r.refusals, reason) === before + 1);
    },
  };
}

/** Subscribe; refused: SUBACK 0x80 for the filter and counted; accepted: granted. */
function sub(name: string, who: (r: Rig) => Login, filter: (r: Rig) => string): HostileCase {
  return {
    name,
    defence: 'acl',
    attack: async (r) => {
      const before = count(r.refusals, 'subscribe outside allowed topics');
      const c = await r.connect(who(r));
      // mqtt.js rejects a SUBACK with 0x80; its packet still lists the grants.
      const granted = await c.subscribeAsync(filter(r), { qos: 1 }).then(
        (g) => g[0]?.qos ?? 128,
        (err: { packet?: { granted?: number[] } }) => err.packet?.granted?.[0] ?? 128,
      );
      await (c as mqtt.MqttClient).endAsync(true);
      return granted !== 128 ? { accepted: true } : refused('SUBACK 0x80, counted', count(r.refusals, 'subscribe outside allowed topics') === before + 1);
    },
  };
}

const asB = (suffix: string) => (r: Rig) => r.bLogin(suffix);
const asClaim = (hex: string) => (r: Rig) => r.claimLogin(rid(hex));
const bytes = (n: number, v = 1) => () => new Uint8Array(n).fill(v);
const gwDelta = (r: Rig) => encodeEnvelope({ kind: 'delta', fleet: r.fleet, from: r.gwId, seq: 1, hlc: { wall: Date.now(), logical: 0 }, body: new Uint8Array([1]) }, createSigner(r.bIdentity.signing));

const cases: HostileCase[] = [
  pub("node b publishes on the gateway's delta topic (mqtt.js)", asB('p1'), (r) => `${r.root}ccf/delta/${r.gwId}`, gwDelta),
  {
    name: "node b publishes on the gateway's delta topic (mosquitto_pub)",
    defence: 'acl',
    skip: noMosquittoClients,
    attack: async (r) => {
      const a = r.bLogin('cli');
      const topic = `${r.root}ccf/delta/${r.gwId}`;
      const before = count(r.refusals, OUTSIDE);
      const routed = r.routed(topic, a.clientId, 5000);
      const res = await run(MOSQUITTO_PUB, ['-h', '127.0.0.1', '-p', String(r.port), '-i', a.clientId, '-u', a.username, '-P', a.password, '-t', topic, '-s', '-q', '1'], gwDelta(r));
      return (await routed) ? { accepted: true } : refused(`${OUTSIDE} +1 (mosquitto_pub exit ${res.status})`, count(r.refusals, OUTSIDE) === before + 1);
    },
  },
  pub('node b publishes a command to the gateway', asB('p2'), (r) => `${r.root}cmd/${r.gwId}`, bytes(8)),
  pub("node b publishes an old fleet-signed revocation list (retained) over the operator's", asB('p3'), (r) => `${r.root}fleet/revocations`, (r) => issueRevocationList({ fleet: r.fleet, seq: 0, issuedAt: Date.now(), revoked: [] }, r.fd.fleetSigner()), { retain: true }),
  pub("node b publishes a forged 'offline' presence for the gateway", asB('p4'), (r) => `${r.root}state/${r.gwId}`, bytes(16), { retain: true }),
  pub("node b publishes a certificate under the gateway's certs topic", asB('p5'), (r) => `${r.root}fleet/certs/${r.gwId}`, (r) => r.b.fleetNode!.provisioned.certBytes, { retain: true }),
  pub("node b publishes a retained digest for the gateway", asB('p6'), (r) => `${r.root}ccf/digest/${r.gwId}`, bytes(32), { retain: true }),
  pub("node b answers another board's provisioning request", asB('p7'), (r) => `${r.root}provision/response/${rid('aa')}`, bytes(32)),
  pub('node b publishes outside its fleet tree', asB('p8'), () => 'h3lix/v1/other/ccf/delta/x', bytes(8)),
  pub("node b replies for the gateway's commands", asB('p9'), (r) => `${r.root}cmd/${r.gwId}/reply`, bytes(8)),
  pub('the claim holder publishes a delta', asClaim('c1'), (r) => `${r.root}ccf/delta/${rid('c1')}`, bytes(8)),
  pub('the claim holder publishes a forged provisioning answer', asClaim('c2'), (r) => `${r.root}provision/response/${rid('c2')}`, bytes(8)),
  pub("the claim holder publishes a provisioning request under another request id", asClaim('c3'), (r) => `${r.root}provision/request/${rid('c4')}`, bytes(8)),
  sub("node b subscribes to the gateway's command topic", asB('s1'), (r) => `${r.root}cmd/${r.gwId}`),
  sub('node b subscribes to the whole fleet tree', asB('s2'), (r) => `${r.root}#`),
  sub("node b subscribes to every node's command topic (cmd/+)", asB('s3'), (r) => `${r.root}cmd/+`),
  sub('node b subscribes to # (every fleet on the broker)', asB('s4'), () => '#'),
  sub("node b subscribes to the gateway's observations", asB('s5'), (r) => `${r.root}obs/${r.gwId}`),
  sub("node b reads other boards' provisioning requests", asB('s6'), (r) => `${r.root}provision/request/+`),
  sub('the claim holder reads field traffic', asClaim('e7'), (r) => `${r.root}ccf/delta/+`),
  sub("the claim holder reads other boards' provisioning answers", asClaim('e8'), (r) => `${r.root}provision/response/+`),
  {
    name: "node b subscribes to the gateway's command topic (mosquitto_sub)",
    defence: 'acl',
    skip: noMosquittoClients,
    attack: async (r) => {
      const a = r.bLogin('cli2');
      const before = count(r.refusals, 'subscribe outside allowed topics');
      const filter = `${r.root}cmd/${r.gwId}`;
      const granted = r.subscribed(a.clientId, filter, 5000);
      const s = await run(MOSQUITTO_SUB, ['-h', '127.0.0.1', '-p', String(r.port), '-i', a.clientId, '-u', a.username, '-P', a.password, '-t', filter, '-C', '1', '-W', '1']);
      const denied = /denied/.test(s.stdout + s.stderr);
      if (await granted) return { accepted: true };
      return refused(`SUBACK 0x80 (mosquitto_sub: ${JSON.stringify((s.stderr + s.stdout).trim())})`, denied && count(r.refusals, 'subscribe outside allowed topics') === before + 1);
    },
  },
  pub('the claim holder sends a 20 KB provisioning request (limit 16 KB)', asClaim('d1'), (r) => `${r.root}provision/request/${rid('d1')}`, bytes(20_000, 7), { reason: 'oversized payload', defence: 'payload-limit' }),
  pub('node b publishes a 200 KB delta on its own topic (limit 192 KB, under the 256 KB packet limit)', asB('d2'), (r) => `${r.root}ccf/delta/${r.bId}`, bytes(200_000, 7), { reason: 'oversized payload', defence: 'payload-limit' }),
];

runArea(t, 'acl', cases);

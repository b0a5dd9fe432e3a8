import t from 'tap';
import { connect as tcpConnect, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { until } from '../../helpers/until.js';
import { count, type Login, type Rig } from './rig.js';
import { refused, runArea, type HostileCase } from './area.js';
import { sleep } from './tools.js';
import { connectPacket as mqttConnect, mqttString, varint } from '../../helpers/mqtt-bytes.js';

/**
 * Resource limits of a real gateway daemon's embedded broker (issue 9 item 5): the packet limit from
 * the fixed header before the body is buffered (control `packet-limit`: aedes reads the whole packet,
 * and its hooks see it), the CONNECT timeout (control `connect-timeout`), and the connection limits
 * (control `conn-limit`). The broker listens on 0.0.0.0 (allowInsecure) so one case can come from a
 * non-loopback address of this machine.
 */

/** A CONNECT packet with the login's credentials (`password` overrides its password). */
const connectPacket = (l: Login, password: string | Buffer = l.password): Buffer => mqttConnect(l.clientId, { username: l.username, password });
const str = mqttString;

const raws: Socket[] = [];
t.teardown(() => raws.forEach((s) => s.destroy()));
/** A raw TCP connection to the gateway broker (`closed` is Node's stream flag, true after 'close'). */
async function raw(r: Rig, host = '127.0.0.1'): Promise<Socket> {
  const s = tcpConnect(r.port, host);
  s.on('error', () => undefined);
  raws.push(s);
  await new Promise<void>((res, rej) => s.once('connect', () => res()).once('error', rej));
  return s;
}
const closedSoon = (s: Socket, ms = 1500) => until(() => s.closed, ms, 'socket closed').then(() => true, () => false);
const lanAddress = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

/** Refused when the broker closed `s` between 9.5 and 12 s after it opened (its 10 s CONNECT timeout); accepted when still open at 12 s. */
async function timedOut(s: Socket): Promise<{ accepted: boolean; refusedBy?: string }> {
  const opened = Date.now();
  let closedAt = 0;
  s.once('close', () => (closedAt = Date.now()));
  await until(() => closedAt > 0, 12_000, 'closed').catch(() => undefined);
  if (!closedAt) return { accepted: true };
  const after = closedAt - opened;
  return refused(`closed by the CONNECT timeout after ${after} ms`, after >= 9500);
}

/** Hooks-side evidence that aedes parsed the packet: `reason` counted by the fleet hooks. */
function oversized(name: string, send: (r: Rig, s: Socket) => void, hookReason: string): HostileCase {
  return {
    name,
    defence: 'packet-limit',
    attack: async (r) => {
      const tooLarge = count(r.limits, 'packet-too-large');
      const hooks = count(r.refusals, hookReason);
      const s = await raw(r);
      send(r, s);
      await until(() => s.closed || count(r.refusals, hookReason) > hooks, 3000, 'refusal').catch(() => undefined);
      if (count(r.refusals, hookReason) > hooks) return { accepted: true };
      return refused('packet-too-large +1 from the fixed header, socket closed', s.closed && count(r.limits, 'packet-too-large') === tooLarge + 1);
    },
  };
}

/** Open `n` idle sockets from `host`; returns them after `settleMs`. */
async function idle(r: Rig, n: number, host = '127.0.0.1', settleMs = 300) {
  const list = [];
  for (let i = 0; i < n; i++) list.push(await raw(r, host));
  await sleep(settleMs);
  return list;
}

const cases: HostileCase[] = [
  oversized("a 300 KB PUBLISH after node b's CONNECT (limit 256 KB)", (r, s) => {
    s.write(connectPacket(r.bLogin('big')));
    const topic = str(`${r.root}ccf/delta/${r.bId}`);
    const body = Buffer.concat([topic, Buffer.alloc(300_000, 7)]);
    s.write(Buffer.concat([Buffer.from([0x30, ...varint(body.length)]), body]));
  }, 'oversized payload'),
  oversized('a 300 KB CONNECT (password)', (r, s) => s.write(connectPacket(r.bLogin('bigc'), Buffer.alloc(300_000, 0x41))), 'auth'),
  oversized('a 300 KB SUBSCRIBE (five 60 KB filters)', (r, s) => {
    s.write(connectPacket(r.bLogin('bigs')));
    const filters = Buffer.concat(Array.from({ length: 5 }, (_, i) => Buffer.concat([str(`${r.root}${String(i).repeat(60_000)}`), Buffer.from([1])])));
    const body = Buffer.concat([Buffer.from([0, 1]), filters]);
    s.write(Buffer.concat([Buffer.from([0x82, ...varint(body.length)]), body]));
  }, 'subscribe outside allowed topics'),
  {
    name: 'a PUBLISH announcing 200 MB, body streamed (1 MB sent)',
    defence: 'packet-limit',
    attack: async (r) => {
      const before = count(r.limits, 'packet-too-large');
      const s = await raw(r);
      s.write(connectPacket(r.bLogin('huge')));
      s.write(Buffer.from([0x30, ...varint(200 * 1024 * 1024)]));
      for (let i = 0; i < 16 && !s.closed; i++) s.write(Buffer.alloc(65536, 7));
      const closed = await closedSoon(s, 1000);
      if (!closed) {
        s.destroy();
        return { accepted: true };
      }
      return refused('packet-too-large +1 at the header, socket closed', count(r.limits, 'packet-too-large') === before + 1);
    },
  },
  {
    name: 'a malformed Remaining Length (five continuation bytes)',
    twin: async (r) => {
      const s = await raw(r);
      const ack = new Promise<Buffer>((res) => s.once('data', res));
      s.write(connectPacket(r.bLogin('twin')));
      const a = await Promise.race([ack, sleep(2000).then(() => Buffer.alloc(0))]);
      s.destroy();
      return a[0] === 0x20 && a[3] === 0; // CONNACK, return code 0 [MQTT-3.2.2.3]
    },
    attack: async (r) => {
      const before = count(r.limits, 'malformed-length');
      const s = await raw(r);
      s.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f]));
      return (await closedSoon(s)) ? refused('malformed-length +1, socket closed', count(r.limits, 'malformed-length') === before + 1) : { accepted: true };
    },
  },
  {
    name: 'an idle socket that never sends CONNECT (closed at the 10 s CONNECT timeout)',
    defence: 'connect-timeout',
    attack: async (r) => {
      const s = await raw(r);
      return timedOut(s);
    },
  },
  {
    name: 'a CONNECT that stalls after its first bytes (slowloris)',
    defence: 'connect-timeout',
    attack: async (r) => {
      const s = await raw(r);
      s.write(connectPacket(r.bLogin('slow')).subarray(0, 6));
      return timedOut(s);
    },
  },
  {
    name: '300 idle sockets (over the 256 pending): the oldest are evicted and a legitimate client still connects',
    defence: 'conn-limit',
    attack: async (r) => {
      const before = count(r.limits, 'pending-evicted');
      const list = await idle(r, 300);
      const open = list.filter((s) => !s.closed).length;
      const legit = await r.tryConnect(r.bLogin('legit'));
      list.forEach((s) => s.destroy());
      if (open === 300) return { accepted: true };
      return refused(`pending-evicted +${count(r.limits, 'pending-evicted') - before}, ${open} left, legitimate client ${legit}`, count(r.limits, 'pending-evicted') - before >= 44 && legit === 'accepted');
    },
  },
  {
    name: `65 connections from one non-loopback address (${lanAddress ?? 'none'}; limit 64)`,
    defence: 'conn-limit',
    skip: lanAddress ? false : 'this machine has no non-loopback IPv4 address',
    attack: async (r) => {
      const before = count(r.limits, 'connections-per-address');
      const list = await idle(r, 65, lanAddress);
      const open = list.filter((s) => !s.closed).length;
      list.forEach((s) => s.destroy());
      if (open === 65) return { accepted: true };
      return refused(`connections-per-address +1, ${open} open`, open === 64 && count(r.limits, 'connections-per-address') === before + 1);
    },
  },
];

runArea(t, 'packets', cases, { host: '0.0.0.0' });

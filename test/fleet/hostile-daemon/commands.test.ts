import t from 'tap';
import type mqtt from 'mqtt';
import { createSigner, generateKeyPair, type Signer } from '../../../src/crypto/ed25519.js';
import { decodeReply, encodeCommand } from '../../../src/fleet/commands.js';
import { until } from '../../helpers/until.js';
import { count, type Rig } from './rig.js';
import { refused, runArea, type HostileCase } from './area.js';

/**
 * Fleet commands to a real gateway daemon (its CommandRouter on cmd/<node>). The attacker holds a
 * provisioner token (a bearer token that may publish on cmd/+, stolen from the operator's machine)
 * but not the fleet key, or replays commands it captured. Accepted: the gateway ran the command and
 * replied on cmd/<node>/reply (its signed reply, verified here).
 */
const rogue = createSigner(generateKeyPair());
let seq = Date.now();
let n = 0;
interface Link {
  c: mqtt.MqttClient;
  replies: string[];
}
const links = new WeakMap<Rig, Link>();
async function link(r: Rig): Promise<Link> {
  let l = links.get(r);
  if (!l) {
    const c = await r.connect(r.provisionerLogin('atk'));
    const replies: string[] = [];
    c.on('message', (_t, p) => replies.push(decodeReply(new Uint8Array(p), r.fleet, r.gw.fleetNode!.resolver).id));
    await c.subscribeAsync(`${r.root}cmd/${r.gwId}/reply`, { qos: 1 });
    links.set(r, (l = { c, replies }));
  }
  return l;
}
const command = (r: Rig, o: { signer?: Signer; seq?: number; exp?: number; to?: string } = {}) => {
  const id = `c${++n}`;
  return { id, bytes: encodeCommand(r.fleet, { to: o.to ?? r.gwId, id, name: 'ping', args: {}, exp: o.exp ?? Date.now() + 60_000 }, o.signer ?? r.fd.fleetSigner(), o.seq ?? ++seq, Date.now()) };
};
/** Publish `bytes` to the gateway's command topic; true when a reply for `id` arrived (the `nth` one). */
async function deliver(r: Rig, id: string, bytes: Uint8Array, nth = 1): Promise<boolean> {
  const l = await link(r);
  await l.c.publishAsync(`${r.root}cmd/${r.gwId}`, Buffer.from(bytes), { qos: 1 });
  return until(() => l.replies.filter((x) => x === id).length >= nth, 1500, 'reply').then(() => true, () => false);
}
const refusals = (r: Rig) => r.gw.fleetNode!.commands.refused;

function cmdCase(name: string, defence: HostileCase['defence'], reason: string, make: (r: Rig) => { id: string; bytes: Uint8Array }): HostileCase {
  return {
    name,
    defence,
    attack: async (r) => {
      const before = count(refusals(r), reason);
      const c = make(r);
      return (await deliver(r, c.id, c.bytes)) ? { accepted: true } : refused(`command refused: ${reason} +1`, count(refusals(r), reason) === before + 1);
    },
  };
}

const cases: HostileCase[] = [
  cmdCase('a command signed by a rogue key', 'command-sig', 'WIRE_BAD_SIGNATURE', (r) => command(r, { signer: rogue })),
  cmdCase('a fleet command whose signature is zeroed', 'command-sig', 'WIRE_BAD_SIGNATURE', (r) => {
    const c = command(r);
    c.bytes.fill(0, c.bytes.length - 64);
    return c;
  }),
  cmdCase('an expired fleet command', 'command-expiry', 'expired', (r) => command(r, { exp: Date.now() - 1 })),
  cmdCase('a fleet command for node b delivered on the gateway topic', 'command-recipient', 'wrong recipient', (r) => command(r, { to: r.bId })),
  {
    name: 'a fleet command with an older sequence number than the last one run',
    defence: 'command-replay',
    attack: async (r) => {
      const last = command(r);
      if (!(await deliver(r, last.id, last.bytes))) return { accepted: false };
      const before = count(refusals(r), 'replayed');
      const old = command(r, { seq: seq - 5 });
      return (await deliver(r, old.id, old.bytes)) ? { accepted: true } : refused('command refused: replayed +1', count(refusals(r), 'replayed') === before + 1);
    },
  },
  {
    name: 'a captured fleet command replayed',
    defence: 'command-replay',
    attack: async (r) => {
      const c = command(r);
      if (!(await deliver(r, c.id, c.bytes))) return { accepted: false };
      const before = count(refusals(r), 'replayed');
      return (await deliver(r, c.id, c.bytes, 2)) ? { accepted: true } : refused('command refused: replayed +1 (the first copy ran)', count(refusals(r), 'replayed') === before + 1);
    },
  },
  {
    name: 'malformed CBOR as a command',
    twin: async (r) => {
      const c = command(r);
      return deliver(r, c.id, c.bytes);
    },
    attack: async (r) => {
      const total = () => [...refusals(r).values()].reduce((a, b) => a + b, 0);
      const before = total();
      const l = await link(r);
      await l.c.publishAsync(`${r.root}cmd/${r.gwId}`, Buffer.from([0xbf, 0x61, 0x61, 0xff]), { qos: 1 });
      await until(() => total() > before, 1500, 'refusal').catch(() => undefined);
      return refused(`command refused: ${[...refusals(r).keys()].join(', ')}`, total() === before + 1);
    },
  },
];

runArea(t, 'commands', cases);

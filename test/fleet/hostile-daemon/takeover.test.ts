import t from 'tap';
import { daemonClientId } from '../../../src/fleet/client-ids.js';
import { count, type Login, type Rig } from './rig.js';
import { refused, runArea, type HostileCase } from './area.js';

/**
 * Client-id takeover (issue 9) against a real gateway daemon: the attacker holds the claim from the
 * board image, node b's own credentials, or a provisioner token, and CONNECTs under a client id that
 * is not its principal's. Refused with CONNACK 2 and counted `client-id` (or `session-takeover`).
 */
function takeover(name: string, login: (r: Rig) => Login, reason: 'client-id' | 'session-takeover' = 'client-id'): HostileCase {
  return {
    name,
    defence: reason,
    attack: async (r) => {
      const before = count(r.refusals, reason);
      const res = await r.tryConnect(login(r));
      if (res === 'accepted') return { accepted: true };
      return refused(`${reason} +1 (${res})`, res === 'refused 2' && count(r.refusals, reason) === before + 1);
    },
  };
}

const gwDaemonId = (r: Rig) => daemonClientId(r.fleet, r.gwId);
const rid = (hex: string) => `r${hex.repeat(20).slice(0, 20)}`;

const cases: HostileCase[] = [
  takeover("claim holder CONNECTs with the gateway's renewal client id (its node id)", (r) => r.claimLogin(r.gwId)),
  takeover("claim holder CONNECTs with board b's renewal client id", (r) => r.claimLogin(r.bId)),
  takeover('claim holder CONNECTs with a client id that is no request id', (r) => r.claimLogin('anything-else')),
  takeover("node b's credentials with the gateway's daemon client id", (r) => ({ ...r.bLogin('x'), clientId: gwDaemonId(r) })),
  takeover("node b's credentials with the gateway's renewal client id", (r) => ({ ...r.bLogin('x'), clientId: r.gwId })),
  takeover("node b's credentials with the gateway's status client id", (r) => ({ ...r.bLogin('x'), clientId: `${gwDaemonId(r)}-status` })),
  takeover("node b's credentials with the provisioner's client id", (r) => ({ ...r.bLogin('x'), clientId: `h3lix-provisioner-${r.fleet}-1` })),
  takeover("a provisioner token with the gateway's daemon client id", (r) => ({ ...r.provisionerLogin('x'), clientId: gwDaemonId(r) })),
  {
    // Two layers: the claim may not use a node's id (client-id), and never displaces a connected client
    // (session-takeover); the control turns both off and the gateway's session is displaced.
    name: "claim holder CONNECTs with the gateway's (connected) daemon client id",
    defence: ['client-id', 'session-takeover'],
    attack: async (r) => {
      const session = r.clients()[gwDaemonId(r)];
      const before = count(r.refusals, 'client-id');
      const res = await r.tryConnect(r.claimLogin(gwDaemonId(r)));
      if (res === 'accepted') return { accepted: session !== undefined && session.closed };
      return refused(`client-id +1 (${res}), the gateway keeps its session`, res === 'refused 2' && count(r.refusals, 'client-id') === before + 1 && r.clients()[gwDaemonId(r)] === session && !session?.closed);
    },
  },
  {
    name: 'a second claim CONNECT with a connected request id (claim clients displacing each other)',
    defence: 'session-takeover',
    attack: async (r) => {
      const id = rid('cd');
      const holder = await r.connect(r.claimLogin(id));
      const session = r.clients()[id];
      const before = count(r.refusals, 'session-takeover');
      const res = await r.tryConnect(r.claimLogin(id));
      const displaced = session?.closed === true;
      await holder.endAsync(true);
      if (res === 'accepted') return { accepted: displaced };
      return refused(`session-takeover +1 (${res})`, res === 'refused 2' && !displaced && count(r.refusals, 'session-takeover') === before + 1);
    },
  },
];

runArea(t, 'takeover', cases);

import type { AedesOptions, AuthenticateError, Client } from 'aedes';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { describeError } from '../errors.js';
import { SEGMENT } from './codec.js';
import { mayPublish, maySubscribe, rulesFor, type AclRules, type Principal } from './acl-policy.js';
import type { RevocationSet } from './revocation.js';
import { tokenExpiry, verifyClaimToken, verifyNodeToken, verifyProvisionerToken } from './tokens.js';
import { claimMayUseClientId, nodeMayUseClientId, provisionerMayUseClientId } from './client-ids.js';
import { defencesOff, type Defence } from '../sync/defences.js';

/**
 * Options for {@link createFleetBrokerAuth}.
 * - `fleet`, `fleetPublicKey`: the fleet this broker serves. Required.
 * - `revocations`: revoked node ids; revoked nodes cannot connect and are disconnected when revoked. Required.
 * - `clock`: token expiry checks. Default: none (required; pass `systemClock`).
 * - `logger`: every refusal is logged at warn with its reason. Required.
 * - `maxProvisionBytes`: largest payload on provisioning topics. Default 16384.
 * - `maxPayloadBytes`: largest payload on any topic. Default 196608 (a 128 KB delta plus envelope).
 * - `defencesOff`: test-only switches (defences.ts: `broker-auth`, `client-id`, `session-takeover`, `token-expiry`,
 *   `token-binding`, `claim-revoke`, `node-revoke`, `acl`, `payload-limit`). Default: from
 *   `H3LIX_TEST_DEFENCES_OFF`, normally empty.
 */
export interface FleetBrokerAuthOptions {
  fleet: string;
  fleetPublicKey: Uint8Array;
  revocations: RevocationSet;
  clock: Clock;
  logger: Logger;
  maxProvisionBytes?: number;
  maxPayloadBytes?: number;
  defencesOff?: ReadonlySet<Defence>;
}

export type FleetBrokerHooks = Required<Pick<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'>>;

export interface FleetBrokerAuth {
  hooks: FleetBrokerHooks;
  /**
   * Number of refusals by reason code (for tests and telemetry): `auth` (bad credentials),
   * `client-id` (a client id that is not the authenticated principal's), `session-takeover` (a
   * claim client naming a connected client's id), `claim-revoked` (a `claim-<batch>` login whose batch
   * is on the revocation list), and the publish/subscribe reasons.
   */
  refusals: Map<string, number>;
  /** Stop listening to the revocation set. */
  dispose(): void;
}

interface Session {
  principal: Principal;
  rules: AclRules;
}

/** A login refused because its node is revoked (not a credential failure: test switch `node-revoke`, not `broker-auth`). */
class RevokedLogin extends Error {}

function authError(message: string, code: 2 | 4 | 5): AuthenticateError {
  return Object.assign(new Error(message), { returnCode: code }) as AuthenticateError;
}

/**
 * aedes authenticate / authorizePublish / authorizeSubscribe hooks enforcing the fleet policy
 * (acl-policy.ts). Usernames: a node id (password: node token), `claim-<batch>` (password: claim
 * token bound to the client id), `provisioner` (password: fleet-signed token). Inject into the sync
 * helper's `EmbeddedBroker({ hooks })`.
 */
export function createFleetBrokerAuth(o: FleetBrokerAuthOptions): FleetBrokerAuth {
  const sessions = new WeakMap<Client, Session>();
  const byNode = new Map<string, Set<Client>>();
  const byBatch = new Map<string, Set<Client>>();
  const refusals = new Map<string, number>();
  const maxProv = o.maxProvisionBytes ?? 16384;
  const maxPayload = o.maxPayloadBytes ?? 196608;
  const provPrefix = `h3lix/v1/${o.fleet}/provision/`;
  const revocationTopic = `h3lix/v1/${o.fleet}/fleet/revocations`;

  const off = o.defencesOff ?? defencesOff();
  if (off.size > 0) o.logger.error({ defencesOff: [...off] }, 'TEST SWITCH: broker defences are OFF (H3LIX_TEST_DEFENCES_OFF); never run a board like this');
  const refuse = (reason: string, detail: Record<string, unknown>) => {
    refusals.set(reason, (refusals.get(reason) ?? 0) + 1);
    o.logger.warn({ reason, ...detail }, `broker refused: ${reason}`);
  };

  const authenticate: FleetBrokerHooks['authenticate'] = (client, username, password, done) => {
    const clientId = client.id;
    const ctx = { fleet: o.fleet, fleetPublicKey: o.fleetPublicKey, now: o.clock.now() };
    try {
      if (!username || !password) throw new Error('no credentials');
      let principal: Principal;
      // The session may not outlive its credential: the token's exp, and the certificate's or claim's notAfter.
      let lapses = tokenExpiry(password) ?? ctx.now;
      if (username === 'provisioner') {
        verifyProvisionerToken(password, ctx);
        principal = { kind: 'provisioner' };
      } else if (username.startsWith('claim-')) {
        if (!SEGMENT.test(clientId)) throw new Error('claim client id must be a topic segment');
        const claim = verifyClaimToken(clientId, password, ctx);
        if (`claim-${claim.batch}` !== username) throw new Error(`claim is for batch ${claim.batch}, username is ${username}`);
        if (o.revocations.isBatchRevoked(claim.batch) && !off.has('claim-revoke')) {
          refuse('claim-revoked', { clientId: clientId.slice(0, 128), username: username.slice(0, 80) });
          return done(authError(`not authorized: the claim of batch ${claim.batch} is revoked`, 5), false);
        }
        principal = { kind: 'claim', batch: claim.batch, requestId: clientId };
        lapses = Math.min(lapses, claim.notAfter);
      } else {
        const cert = verifyNodeToken(username, password, ctx, off.has('token-binding') ? undefined : clientId);
        if (o.revocations.isRevoked(cert.nodeId) && !off.has('node-revoke')) throw new RevokedLogin(`node ${cert.nodeId} is revoked`);
        principal = { kind: 'node', nodeId: cert.nodeId };
        lapses = Math.min(lapses, cert.notAfter);
      }
      const idProblem = clientIdProblem(principal, clientId);
      if (idProblem) {
        refuse('client-id', { clientId: clientId.slice(0, 128), username: username.slice(0, 80), error: idProblem });
        return done(authError(`not authorized: ${idProblem}`, 2), false);
      }
      // A claim client never displaces a connected client (its id is random; a collision is an attack).
      // A node may displace only its own session (the half-open reconnect [MQTT-3.1.4-2] is for).
      const existing = (client as Client & { broker?: { clients?: Record<string, Client> } }).broker?.clients?.[clientId];
      if (existing && !existing.closed && principal.kind === 'claim' && !off.has('session-takeover')) {
        refuse('session-takeover', { clientId, username: username.slice(0, 80) });
        return done(authError(`not authorized: client id ${clientId} is connected`, 2), false);
      }
      sessions.set(client, { principal, rules: rulesFor(o.fleet, principal) });
      if (!off.has('token-expiry')) {
        const timer = o.clock.setTimeout(() => {
          if (client.closed) return;
          refuse('credential expired', { clientId: clientId.slice(0, 128), username: username.slice(0, 80), at: lapses });
          client.close();
        }, Math.max(0, lapses - ctx.now));
        (timer as { unref?: () => void }).unref?.();
      }
      const key = principal.kind === 'node' ? principal.nodeId : principal.kind === 'claim' ? principal.batch : undefined;
      const index = principal.kind === 'node' ? byNode : byBatch;
      if (key !== undefined) {
        let set = index.get(key);
        if (!set) index.set(key, (set = new Set()));
        for (const c of set) if (c.closed) set.delete(c);
        set.add(client);
      }
      done(null, true);
    } catch (err) {
      if (off.has('broker-auth') && !(err instanceof RevokedLogin)) {
        // Test switch: credentials that do not verify are taken at their word (the principal the username names).
        const principal: Principal = username === 'provisioner' ? { kind: 'provisioner' } : username?.startsWith('claim-') ? { kind: 'claim', batch: username.slice(6), requestId: clientId } : { kind: 'node', nodeId: username ?? clientId };
        sessions.set(client, { principal, rules: rulesFor(o.fleet, principal) });
        return done(null, true);
      }
      refuse('auth', { clientId, username: username?.slice(0, 80), error: describeError(err) });
      done(authError(`not authorized: ${describeError(err)}`, username && password ? 4 : 5), false);
    }
  };

  /** Why `clientId` may not be used by `p`, or undefined (client-ids.ts). */
  const clientIdProblem = (p: Principal, clientId: string): string | undefined => {
    if (off.has('client-id')) return undefined;
    if (p.kind === 'node') return nodeMayUseClientId(o.fleet, p.nodeId, clientId) ? undefined : `node ${p.nodeId} may not use client id ${clientId.slice(0, 128)}`;
    if (p.kind === 'claim') return claimMayUseClientId(clientId) ? undefined : `a claim client id must be a request id (r + 20 hex), got ${clientId.slice(0, 128)}`;
    return provisionerMayUseClientId(o.fleet, clientId) ? undefined : `the provisioner may not use client id ${clientId.slice(0, 128)}`;
  };

  const authorizePublish: FleetBrokerHooks['authorizePublish'] = (client, packet, callback) => {
    if (!client) return callback(null); // the broker's own messages ($SYS, wills are checked at connect)
    const s = sessions.get(client);
    const topic = packet.topic;
    const size = packet.payload?.length ?? 0;
    let reason: string | undefined;
    if (!s) reason = 'unauthenticated publish';
    else if (s.principal.kind === 'node' && o.revocations.isRevoked(s.principal.nodeId) && !off.has('node-revoke')) reason = 'revoked node';
    else if (s.principal.kind === 'claim' && o.revocations.isBatchRevoked(s.principal.batch) && !off.has('claim-revoke')) reason = 'revoked claim';
    else if (!mayPublish(s.rules, topic) && !off.has('acl')) reason = 'publish outside own topics';
    else if ((size > maxPayload || (topic.startsWith(provPrefix) && size > maxProv)) && !off.has('payload-limit')) reason = 'oversized payload';
    if (reason) {
      refuse(reason, { clientId: client.id, topic: topic.slice(0, 200), size });
      return callback(new Error(reason));
    }
    if (topic === revocationTopic) {
      // The broker applies the fleet-signed list itself, so it refuses revoked nodes at once.
      try {
        o.revocations.apply(new Uint8Array(packet.payload as Buffer));
      } catch (err) {
        refuse('bad revocation list', { clientId: client.id, error: describeError(err) });
        return callback(new Error('bad revocation list'));
      }
    }
    callback(null);
  };

  const authorizeSubscribe: FleetBrokerHooks['authorizeSubscribe'] = (client, sub, callback) => {
    const s = sessions.get(client);
    if (s && (maySubscribe(s.rules, sub.topic) || off.has('acl')) && !(s.principal.kind === 'node' && o.revocations.isRevoked(s.principal.nodeId) && !off.has('node-revoke'))) return callback(null, sub);
    refuse('subscribe outside allowed topics', { clientId: client.id, topic: sub.topic.slice(0, 200) });
    // [MQTT-3.9.3-2] SUBACK 0x80 for this filter; the connection stays up.
    callback(null, null);
  };

  const unsubscribe = o.revocations.onRevoked((ids, batches) => {
    for (const id of off.has('node-revoke') ? [] : ids) {
      for (const c of byNode.get(id) ?? []) {
        o.logger.warn({ nodeId: id, clientId: c.id }, 'disconnecting revoked node');
        if (!c.closed) c.close();
      }
      byNode.delete(id);
    }
    if (off.has('claim-revoke')) return;
    for (const batch of batches) {
      for (const c of byBatch.get(batch) ?? []) {
        o.logger.warn({ batch, clientId: c.id }, 'disconnecting a client of a revoked claim');
        if (!c.closed) c.close();
      }
      byBatch.delete(batch);
    }
  });

  return { hooks: { authenticate, authorizePublish, authorizeSubscribe }, refusals, dispose: unsubscribe };
}

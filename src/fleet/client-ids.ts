/**
 * Which MQTT client ids a principal may use (issue 9 "client-id takeover"). [MQTT-3.1.4-2] tells a
 * broker to close an existing session when a new CONNECT names the same client id, so whoever may
 * choose a client id may disconnect its owner. The fleet therefore splits the id space by principal:
 *   node `<n>`        `h3lix-<fleet>-<n>` (the daemon, truncated to 128 chars), `h3lix-<fleet>-<n>-<suffix>`
 *                     (the node's other connections, e.g. `-instance`) or `<n>` (renewal)
 *   claim client      `r` + 20 lower-case hex digits (a random provisioning request id)
 *   provisioner       `h3lix-provisioner-<fleet>-<anything>` (fleet serve) or `h3lix-operator-<anything>` (CLI)
 * A node id is `n` + base32 (crypto/node-id.ts), so no id of one kind can be an id of another.
 */
export const REQUEST_ID = /^r[0-9a-f]{20}$/;

/**
 * The node's second connections (`h3lix-<fleet>-<n>-<suffix>`: the personal instance, the status
 * page's peer client). On Mosquitto, where `use_username_as_clientid` makes the username the client
 * id, each logs in as its own user `<n>-<suffix>` (same password, mosquitto-acl.ts), so it does not
 * displace the daemon's session.
 */
export const AUX_CONNECTIONS = ['instance', 'status'] as const;

/** The Mosquitto username of node `nodeId`'s connection with client id `clientId` (password mode). */
export function passwordUsername(nodeId: string, clientId: string | undefined): string {
  if (clientId === undefined) return nodeId;
  const at = clientId.indexOf(`-${nodeId}-`);
  if (at < 0) return nodeId;
  const suffix = clientId.slice(at + nodeId.length + 2);
  return (AUX_CONNECTIONS as readonly string[]).includes(suffix) ? `${nodeId}-${suffix}` : nodeId;
}

/** The client id the daemon uses for node `nodeId` (src/daemon/daemon.ts). */
export function daemonClientId(fleet: string, nodeId: string): string {
  return `h3lix-${fleet}-${nodeId}`.slice(0, 128);
}

export function nodeMayUseClientId(fleet: string, nodeId: string, clientId: string): boolean {
  const own = daemonClientId(fleet, nodeId);
  return clientId === nodeId || clientId === own || (clientId.startsWith(`${own}-`) && clientId.length > own.length + 1 && clientId.length <= 128);
}

export function claimMayUseClientId(clientId: string): boolean {
  return REQUEST_ID.test(clientId);
}

export function provisionerMayUseClientId(fleet: string, clientId: string): boolean {
  if (clientId.length > 128) return false;
  return [`h3lix-provisioner-${fleet}-`, 'h3lix-operator-'].some((prefix) => clientId.startsWith(prefix) && clientId.length > prefix.length);
}

import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { clientTlsOptions, isTlsUrl } from '../sync/tls.js';
import type { DaemonContext, DaemonLogin } from './feature.js';

/**
 * A second mqtt.js client of this node (the personal instance, the status page's peer client), logged
 * in the way the daemon's transport is (`ctx.login`: URL, credentials re-read before every reconnect
 * when they are tokens, client TLS), with client id `h3lix-<fleet>-<node>-<suffix>`, which the fleet
 * broker hooks accept for the node (src/fleet/client-ids.ts). `login` overrides `ctx.login` (tests).
 */
export function connectAsNode(ctx: DaemonContext, suffix: string, extra: Partial<IClientOptions> = {}, login: DaemonLogin = ctx.login): MqttClient {
  const config = ctx.config;
  const clientId = `h3lix-${ctx.fleet}-${ctx.nodeId}-${suffix}`.slice(0, 128);
  const first = login.credentials(clientId);
  const tls = isTlsUrl(login.url) ? login.tls() : undefined;
  const client = mqtt.connect(login.url, {
    clientId,
    protocolVersion: login.protocolVersion,
    clean: true,
    reconnectPeriod: config.broker.reconnectMs,
    reconnectOnConnackError: true, // a refused CONNACK (token not yet valid, ACL pushed later) is retried
    keepalive: config.broker.keepaliveSeconds,
    ...(first.username !== undefined ? { username: first.username } : {}),
    ...(first.password !== undefined ? { password: first.password } : {}),
    ...(tls ? clientTlsOptions(tls) : {}),
    ...extra,
  });
  if (login.refreshCredentials) {
    // token credentials expire: fresh ones before every reconnect, as the daemon's transport does
    client.on('reconnect', () => {
      const c = login.credentials(clientId);
      client.options.username = c.username;
      client.options.password = c.password;
    });
  }
  return client;
}

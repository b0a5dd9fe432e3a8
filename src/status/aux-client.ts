/**
 * A second, read-mostly mqtt.js client on the daemon's broker for a feature that needs its own
 * subscriptions (the daemon's Transport subscribes a fixed topic set at construction, and retained
 * messages are delivered only at subscribe time: a feature listening on `ctx.inbound` after the
 * transport connected would miss them). It subscribes again on every connect.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { DaemonContext } from '../daemon/feature.js';
import { instanceBrokerUrl, type InstanceBrokerOverride } from '../daemon/features/learning.js';
import type { Logger } from '../util/logger.js';
import { extraClientTls } from '../sync/tls.js';

/** Options of {@link openAuxClient}. */
export interface AuxClientOptions {
  /** Client id suffix: `h3lix-<fleet>-<node>-<suffix>`. */
  suffix: string;
  subscriptions: string[];
  onMessage: (topic: string, payload: Buffer, retained: boolean) => void;
  /** Called after every (re)connect, once the subscriptions are acknowledged. Default none. */
  onConnect?: () => void;
  logger: Logger;
  /** Broker URL and credentials when the config does not hold them (fleet mode: the node's tokens, re-read before every reconnect). Default: the config's. */
  broker?: InstanceBrokerOverride;
}

/**
 * Connect to the daemon's broker (the override's URL, else `broker.url`, else the embedded one);
 * undefined when there is none. Client id `h3lix-<fleet>-<node>-<suffix>`, which the fleet broker
 * hooks accept for the node (src/fleet/client-ids.ts).
 */
export function openAuxClient(ctx: DaemonContext, o: AuxClientOptions): MqttClient | undefined {
  const broker = instanceBrokerUrl(ctx, o.broker);
  if (!broker) return undefined;
  const config = ctx.config;
  const creds = o.broker?.credentials;
  const first = creds ? creds() : { username: config.broker.username, password: config.broker.password };
  const client = mqtt.connect(broker.url, {
    clientId: `h3lix-${ctx.fleet}-${ctx.nodeId}-${o.suffix}`.slice(0, 128),
    protocolVersion: broker.protocolVersion,
    clean: true,
    resubscribe: false,
    reconnectPeriod: config.broker.reconnectMs,
    reconnectOnConnackError: true,
    keepalive: config.broker.keepaliveSeconds,
    ...(first.username !== undefined ? { username: first.username } : {}),
    ...(first.password !== undefined ? { password: first.password } : {}),
    ...extraClientTls(config, broker.url, o.broker?.tls),
  });
  if (creds) {
    // token credentials expire: fresh ones before every reconnect, as the daemon's transport does
    client.on('reconnect', () => {
      const c = creds();
      client.options.username = c.username;
      client.options.password = c.password;
    });
  }
  client.on('error', (err) => o.logger.debug({ err: err.message }, `${o.suffix} mqtt error`));
  client.on('message', (topic, payload, packet) => {
    try {
      o.onMessage(topic, payload, packet.retain);
    } catch (err) {
      o.logger.warn({ err: (err as Error).message, topic }, `${o.suffix}: message handler failed`);
    }
  });
  client.on('connect', () => {
    if (o.subscriptions.length === 0) return o.onConnect?.();
    client.subscribe(o.subscriptions, { qos: 1 }, (err, granted) => {
      if (err) return void o.logger.warn({ err: err.message }, `${o.suffix}: subscribe failed`);
      // SUBACK 0x80 [MQTT-3.9.3]: the broker's ACL refused the filter; the connection stays up
      const refused = (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic);
      if (refused.length) o.logger.warn({ refused }, `${o.suffix}: the broker refused the subscription (ACL): ${refused.join(', ')}`);
      o.onConnect?.();
    });
  });
  return client;
}

/** Close an aux client without waiting on a broker that is gone. */
export async function closeAuxClient(client: MqttClient | undefined): Promise<void> {
  await client?.endAsync(!client.connected).catch(() => undefined);
}

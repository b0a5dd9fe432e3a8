/**
 * A second, read-mostly mqtt.js client on the daemon's broker for a feature that needs its own
 * subscriptions (the daemon's Transport subscribes a fixed topic set at construction, and retained
 * messages are delivered only at subscribe time: a feature listening on `ctx.inbound` after the
 * transport connected would miss them). It subscribes again on every connect.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { DaemonContext } from '../daemon/feature.js';
import { instanceBrokerUrl } from '../daemon/features/learning.js';
import type { Logger } from '../util/logger.js';

/** Options of {@link openAuxClient}. */
export interface AuxClientOptions {
  /** Client id suffix: `h3lix-<fleet>-<node>-<suffix>`. */
  suffix: string;
  subscriptions: string[];
  onMessage: (topic: string, payload: Buffer, retained: boolean) => void;
  /** Called after every (re)connect, once the subscriptions are acknowledged. Default none. */
  onConnect?: () => void;
  logger: Logger;
}

/** Connect to the daemon's broker (`broker.url`, else the embedded one); undefined when there is none. */
export function openAuxClient(ctx: DaemonContext, o: AuxClientOptions): MqttClient | undefined {
  const broker = instanceBrokerUrl(ctx);
  if (!broker) return undefined;
  const config = ctx.config;
  const client = mqtt.connect(broker.url, {
    clientId: `h3lix-${ctx.fleet}-${ctx.nodeId}-${o.suffix}`.slice(0, 128),
    protocolVersion: broker.protocolVersion,
    clean: true,
    resubscribe: false,
    reconnectPeriod: config.broker.reconnectMs,
    reconnectOnConnackError: true,
    keepalive: config.broker.keepaliveSeconds,
    ...(config.broker.username !== undefined ? { username: config.broker.username } : {}),
    ...(config.broker.password !== undefined ? { password: config.broker.password } : {}),
  });
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
    client.subscribe(o.subscriptions, { qos: 1 }, (err) => {
      if (err) o.logger.warn({ err: err.message }, `${o.suffix}: subscribe failed`);
      else o.onConnect?.();
    });
  });
  return client;
}

/** Close an aux client without waiting on a broker that is gone. */
export async function closeAuxClient(client: MqttClient | undefined): Promise<void> {
  await client?.endAsync(!client.connected).catch(() => undefined);
}

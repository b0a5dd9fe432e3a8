/**
 * A second, read-mostly mqtt.js client on the daemon's broker for a feature that needs its own
 * subscriptions (the daemon's Transport subscribes a fixed topic set at construction, and retained
 * messages are delivered only at subscribe time: a feature listening on `ctx.inbound` after the
 * transport connected would miss them). It subscribes again on every connect.
 */
import type { MqttClient } from 'mqtt';
import type { DaemonContext, DaemonLogin } from '../daemon/feature.js';
import { connectAsNode } from '../daemon/login-client.js';
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
  /** Log in another way than the daemon's transport (tests' negative controls). Default `ctx.login`. */
  login?: DaemonLogin;
}

/**
 * Connect to the daemon's broker the way the daemon's transport does (`ctx.login`: in fleet mode the
 * node's tokens and certificate). Client id `h3lix-<fleet>-<node>-<suffix>`.
 */
export function openAuxClient(ctx: DaemonContext, o: AuxClientOptions): MqttClient {
  const client = connectAsNode(ctx, o.suffix, { resubscribe: false }, o.login);
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

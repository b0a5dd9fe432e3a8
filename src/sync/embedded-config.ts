import type { H3lixConfig } from '../config/schema.js';
import type { Logger } from '../util/logger.js';
import type { BrokerAuthHooks, EmbeddedBrokerOptions } from './embedded-broker.js';
import { embeddedTlsFromConfig } from './tls.js';

/**
 * The embedded broker's options from `broker.embedded` (listen address, TLS, the insecure-listener
 * switch, resource limits), plus the hooks and logger the caller has. Reads the TLS files now: a
 * missing one is CONFIG_INVALID here.
 */
export function embeddedBrokerOptions(config: H3lixConfig, o: { logger: Logger; hooks?: BrokerAuthHooks }): EmbeddedBrokerOptions {
  const e = config.broker.embedded;
  return { host: e.host, port: e.port, logger: o.logger, ...embeddedTlsFromConfig(config), ...e.limits, ...(o.hooks ? { hooks: o.hooks } : {}) };
}

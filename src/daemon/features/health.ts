import { describeError } from '../../errors.js';
import { moduleLogger } from '../../util/logger.js';
import { H3LIX_VERSION } from '../../util/version.js';
import type { Feature, FeatureFactory } from '../feature.js';
import { writeHealth, type HealthRecord } from '../health-file.js';

/**
 * The health feature (docs/bundle.md, "Health"): keeps `<node.dataDir>/health.json` true — written
 * when the daemon is ready and on every change of its broker connection, marked stopped on a clean
 * stop. An update's health check (`h3lix bundle install --wait-healthy`, `h3lix health`) reads it.
 */
export function healthFeature(): FeatureFactory {
  return (ctx): Feature => {
    const log = moduleLogger(ctx.logger, 'health');
    const startedAt = ctx.clock.now();
    let off: (() => void) | undefined;
    const write = (extra: Partial<HealthRecord> = {}): void => {
      const rec: HealthRecord = {
        v: 1,
        pid: process.pid,
        startedAt,
        at: ctx.clock.now(),
        brokerConnected: ctx.transport.status === 'connected',
        fieldLoaded: true,
        fieldContributions: ctx.field.size(),
        version: H3LIX_VERSION,
        ...extra,
      };
      try {
        writeHealth(ctx.config.node.dataDir, rec);
      } catch (err) {
        log.warn({ error: describeError(err) }, 'health file not written');
      }
    };
    return {
      name: 'health',
      start: async () => {
        off = ctx.inbound.on('status', () => write());
        write();
      },
      stop: async () => {
        off?.();
        write({ stopped: true, brokerConnected: false });
      },
    };
  };
}

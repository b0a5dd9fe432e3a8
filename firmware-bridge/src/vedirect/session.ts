import type { Duplex } from 'node:stream';
import type { ProtocolSession, SessionContext } from '../source/energy-source.js';
import { VeDirectTextParser, type VeDirectFrame, type VeDirectReject, type VeDirectTextParserOptions } from './framing.js';
import { decodeVeDirect } from './protocol.js';

/**
 * VE.Direct adapter layer: port bytes → {@link VeDirectTextParser} → {@link decodeVeDirect} →
 * readings. Read-only: the TEXT protocol is broadcast once a second by the device.
 */
export function veDirectSession(stream: Duplex, ctx: SessionContext, options: VeDirectTextParserOptions = {}): ProtocolSession {
  const parser = new VeDirectTextParser(options);
  parser.on('data', (frame: VeDirectFrame) => {
    const out = decodeVeDirect(frame, { source: ctx.source, time: ctx.clock.now() });
    if (out === undefined) return;
    if ('reject' in out) ctx.reject('bad-field', out.reject);
    else ctx.reading(out.reading);
  });
  parser.on('reject', (r: VeDirectReject) => ctx.reject(r.reason, r.detail));
  stream.pipe(parser);
  return {
    stop() {
      stream.unpipe(parser);
      parser.removeAllListeners('data');
      parser.destroy();
    },
  };
}

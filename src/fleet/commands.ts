import { randomBytes } from 'node:crypto';
import { describeError, H3lixError } from '../errors.js';
import type { Signer } from '../crypto/ed25519.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { field, SEGMENT, type CborMap } from './codec.js';
import { decodeFleetMessage, encodeFleetMessage } from './message.js';
import { defencesOff, type Defence } from '../sync/defences.js';
import type { KeyResolver } from './cert-resolver.js';

/**
 * Fleet commands (DESIGN section 7 `cmd/<node>`): a fleet message of kind `cmd`, from `fleet`, signed
 * by the fleet key, body `{to, id, name, args, exp}`; the node answers on `cmd/<node>/reply` with a
 * `reply` message signed by its own key, body `{id, ok, result?, error?}`. `seq` is the fleet's
 * persisted, strictly increasing command counter: a node accepts only a seq above the last one it ran,
 * so a captured command cannot be replayed, and nothing after `exp`.
 */
export interface FleetCommand {
  to: string;
  id: string;
  name: string;
  args: CborMap;
  exp: number;
}

export function newCorrelationId(): string {
  return `c${randomBytes(8).toString('hex')}`;
}

export function encodeCommand(fleet: string, cmd: FleetCommand, fleetSigner: Signer, seq: number, ts: number): Uint8Array {
  return encodeFleetMessage({ kind: 'cmd', fleet, from: 'fleet', seq, ts, body: { ...cmd } }, fleetSigner);
}

export interface CommandReply {
  from: string;
  id: string;
  ok: boolean;
  result?: CborMap;
  error?: string;
}

/** Decode a reply, verifying it with the node's certified key (resolver). */
export function decodeReply(bytes: Uint8Array, fleet: string, resolver: KeyResolver): CommandReply {
  const msg = decodeFleetMessage(bytes, { fleet, kinds: ['reply'], resolveKey: (from) => resolver.resolve(from) });
  const b = msg.body;
  const out: CommandReply = { from: msg.from, id: field.str(b, 'id', 'reply', 64, SEGMENT), ok: b.ok === true };
  if (b.result !== undefined) out.result = field.map(b, 'result', 'reply');
  if (b.error !== undefined) out.error = field.str(b, 'error', 'reply', 1024);
  return out;
}

/** A command handler: resolves to a result map, throws to report failure to the operator. */
export type CommandHandler = (args: CborMap, cmd: FleetCommand) => Promise<CborMap | void> | CborMap | void;

/**
 * Options for {@link CommandRouter}.
 * - `fleet`, `fleetPublicKey`, `nodeId`: who we are and whom we obey. Required.
 * - `nodeSigner`: signs replies. Required.
 * - `publish(topic, bytes)`: sends a reply (QoS 1, through the outbox or transport). Required.
 * - `lastSeq`: highest command seq already run (persisted by the caller). Default 0.
 * - `onSeq(seq)`: persist the new highest seq (called before the handler runs). Default none.
 * - `clock`, `logger`: required.
 * - `defencesOff`: test-only switches (defences.ts `command-sig`, `command-recipient`, `command-expiry`,
 *   `command-replay`). Default from H3LIX_TEST_DEFENCES_OFF, normally empty.
 */
export interface CommandRouterOptions {
  fleet: string;
  fleetPublicKey: Uint8Array;
  nodeId: string;
  nodeSigner: Signer;
  publish: (topic: string, payload: Uint8Array) => Promise<void> | void;
  lastSeq?: number;
  onSeq?: (seq: number) => void;
  clock: Clock;
  logger: Logger;
  defencesOff?: ReadonlySet<Defence>;
}

/** The handler registry the daemon wires to `cmd/<node>`. */
export class CommandRouter {
  readonly refused = new Map<string, number>();
  private readonly handlers = new Map<string, CommandHandler>();
  private lastSeq: number;
  private replySeq = 0;
  private readonly off: ReadonlySet<Defence>;

  constructor(private readonly o: CommandRouterOptions) {
    this.lastSeq = o.lastSeq ?? 0;
    this.off = new Set([...(o.defencesOff ?? defencesOff())].filter((d) => d.startsWith('command-')));
    if (this.off.size > 0) o.logger.error({ defencesOff: [...this.off] }, 'TEST SWITCH: command defences are OFF (H3LIX_TEST_DEFENCES_OFF); never run a board like this');
  }

  /** Topic to subscribe: `h3lix/v1/<fleet>/cmd/<node>`. */
  get topic(): string {
    return `h3lix/v1/${this.o.fleet}/cmd/${this.o.nodeId}`;
  }

  register(name: string, handler: CommandHandler): () => void {
    this.handlers.set(name, handler);
    return () => this.handlers.delete(name);
  }

  private refuse(reason: string, detail: Record<string, unknown>): void {
    this.refused.set(reason, (this.refused.get(reason) ?? 0) + 1);
    this.o.logger.warn({ reason, ...detail }, `command refused: ${reason}`);
  }

  /**
   * Handle one `cmd/<node>` message. Never rejects (the fleet inbound filter fires it and forgets it):
   * refusals are logged with their reason; a local failure after the checks (persisting the seq,
   * encoding the reply) is counted as refusal `internal`.
   */
  async handle(payload: Uint8Array): Promise<void> {
    try {
      await this.process(payload);
    } catch (err) {
      this.refuse('internal', { error: describeError(err), size: payload.length });
    }
  }

  private async process(payload: Uint8Array): Promise<void> {
    let cmd: FleetCommand;
    let seq: number;
    try {
      const msg = decodeFleetMessage(payload, { fleet: this.o.fleet, kinds: ['cmd'], ...(this.off.has('command-sig') ? { skipSignature: true } : {}), resolveKey: (from) => (from === 'fleet' ? this.o.fleetPublicKey : undefined) });
      const b = msg.body;
      cmd = { to: field.str(b, 'to', 'cmd', 64, SEGMENT), id: field.str(b, 'id', 'cmd', 64, SEGMENT), name: field.str(b, 'name', 'cmd', 64), args: b.args === undefined ? {} : field.map(b, 'args', 'cmd'), exp: field.int(b, 'exp', 'cmd') };
      seq = msg.seq;
    } catch (err) {
      return this.refuse(err instanceof H3lixError ? err.code : 'malformed', { error: describeError(err), size: payload.length });
    }
    if (cmd.to !== this.o.nodeId && !this.off.has('command-recipient')) return this.refuse('wrong recipient', { id: cmd.id, to: cmd.to });
    if (cmd.exp <= this.o.clock.now() && !this.off.has('command-expiry')) return this.refuse('expired', { id: cmd.id, name: cmd.name, exp: cmd.exp });
    if (seq <= this.lastSeq && !this.off.has('command-replay')) return this.refuse('replayed', { id: cmd.id, name: cmd.name, seq, lastSeq: this.lastSeq });
    this.lastSeq = Math.max(this.lastSeq, seq);
    this.o.onSeq?.(this.lastSeq);
    const handler = this.handlers.get(cmd.name);
    let reply: CborMap;
    if (!handler) {
      this.refuse('unknown command', { id: cmd.id, name: cmd.name });
      reply = { id: cmd.id, ok: false, error: `COMMAND_REFUSED: unknown command ${cmd.name}` };
    } else {
      try {
        const result = await handler(cmd.args, cmd);
        reply = { id: cmd.id, ok: true, result: result ?? {} };
        this.o.logger.info({ id: cmd.id, name: cmd.name }, 'command done');
      } catch (err) {
        reply = { id: cmd.id, ok: false, error: describeError(err).slice(0, 1000) };
        this.o.logger.warn({ id: cmd.id, name: cmd.name, error: describeError(err) }, 'command failed');
      }
    }
    const bytes = encodeFleetMessage({ kind: 'reply', fleet: this.o.fleet, from: this.o.nodeId, seq: ++this.replySeq, ts: this.o.clock.now(), body: reply }, this.o.nodeSigner);
    try {
      await this.o.publish(`${this.topic}/reply`, bytes);
    } catch (err) {
      this.o.logger.warn({ id: cmd.id, error: describeError(err) }, 'command reply not sent');
    }
  }
}

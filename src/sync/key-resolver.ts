import { nodeIdMatches } from '../crypto/node-id.js';
import type { Logger } from '../util/logger.js';

/**
 * Resolves a sender id (`from` of an envelope) to its Ed25519 public key, or undefined when the
 * sender is unknown (the envelope is then rejected WIRE_UNKNOWN_SENDER and recovered later by
 * anti-entropy). The fleet feature replaces the open-mode resolver with a certificate-backed one.
 */
export interface KeyResolver {
  resolve(from: string): Uint8Array | undefined;
  /**
   * True when every relayed contribution must carry a valid signature of its origin (fleet mode:
   * the origin holds a valid, unrevoked certificate). Default false: unsigned contributions pass.
   */
  readonly requireOriginSignatures?: boolean;
}

/** A resolver that can also learn keys from presence (birth) messages. */
export interface LearningKeyResolver extends KeyResolver {
  /**
   * Offer a key seen in `state/<node>`; returns true when accepted. `certificate` is passed through
   * for resolvers that verify one (the open-mode resolver ignores it).
   */
  learn(node: string, publicKey: Uint8Array, certificate?: Uint8Array): boolean;
}

/**
 * Open mode (no fleet CA): keys are learned from births and accepted only when the node id is the
 * self-certifying id of the key (`nodeIdMatches`), so nobody can speak for another node id.
 * Options: `self` (our own id and key, always known), `logger` (default none), `maxKeys`
 * (default 100000: bounded memory against id-spraying).
 */
export class OpenKeyResolver implements LearningKeyResolver {
  private readonly keys = new Map<string, Uint8Array>();
  private readonly maxKeys: number;
  private readonly logger: Logger | undefined;

  constructor(opts: { self?: { node: string; publicKey: Uint8Array }; logger?: Logger; maxKeys?: number } = {}) {
    this.maxKeys = opts.maxKeys ?? 100_000;
    this.logger = opts.logger;
    if (opts.self) this.keys.set(opts.self.node, opts.self.publicKey);
  }

  resolve(from: string): Uint8Array | undefined {
    return this.keys.get(from);
  }

  learn(node: string, publicKey: Uint8Array): boolean {
    if (!nodeIdMatches(node, publicKey)) {
      this.logger?.warn({ node }, 'presence key does not match the self-certifying node id; ignored');
      return false;
    }
    if (!this.keys.has(node) && this.keys.size >= this.maxKeys) return false;
    this.keys.set(node, publicKey);
    return true;
  }

  /** Number of known keys (self included). */
  get size(): number {
    return this.keys.size;
  }
}

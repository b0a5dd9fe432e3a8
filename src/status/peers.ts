/**
 * Peers and their presence, from the retained birth/death on `state/<node>` (DESIGN section 7) that
 * every syncing node already subscribes to. Bounded: beyond `maxPeers` the longest-unseen are dropped.
 */
import { decodePresence } from '../sync/presence.js';
import { parseTopic, type Topics } from '../sync/topics.js';
import type { PeerSummary } from './summary.js';

/** Options of {@link PeerTracker}. `maxPeers` default 1000. */
export interface PeerTrackerOptions {
  topics: Topics;
  self: string;
  fleet: string;
  now: () => number;
  maxPeers?: number;
}

export class PeerTracker {
  private readonly peers = new Map<string, PeerSummary>();
  private readonly max: number;
  /** Presence payloads that did not decode (counted, never thrown). */
  rejected = 0;

  constructor(private readonly o: PeerTrackerOptions) {
    this.max = o.maxPeers ?? 1000;
  }

  /** Feed every inbound message; anything but another node's `state/<node>` is ignored. */
  onMessage(topic: string, payload: Uint8Array): void {
    const t = parseTopic(this.o.topics, topic);
    if (!t || t.kind !== 'state' || t.node === this.o.self) return;
    if (payload.length === 0) {
      this.peers.delete(t.node); // a cleared retained state: the peer was removed
      return;
    }
    try {
      const p = decodePresence(payload);
      if (p.node !== t.node || p.fleet !== this.o.fleet) throw new Error('presence for another node or fleet');
      const prev = this.peers.get(t.node);
      this.peers.delete(t.node); // re-insert: Map order is least recently seen first
      this.peers.set(t.node, { node: t.node, online: p.online, energyMode: p.energyMode ?? prev?.energyMode ?? null, board: p.board ?? null, lastSeen: this.o.now() });
      while (this.peers.size > this.max) this.peers.delete(this.peers.keys().next().value!);
    } catch {
      this.rejected += 1;
    }
  }

  /** Peers sorted by node id. */
  list(): PeerSummary[] {
    return [...this.peers.values()].sort((a, b) => a.node.localeCompare(b.node));
  }
}

/**
 * Topic names, all under `h3lix/v1/<fleet>/` (DESIGN section 7). Node ids and fleet names are
 * restricted to [A-Za-z0-9_-] by the config schema, so they never contain MQTT wildcards or `/`.
 */
export interface Topics {
  readonly root: string;
  delta(node: string): string;
  digest(node: string): string;
  want(node: string): string;
  state(node: string): string;
  energy(node: string): string;
  /** Subscriptions a syncing node needs: every peer's ccf traffic and state. */
  subscriptions(): string[];
}

/** The kinds of message a topic can carry, parsed from a topic string. */
export type TopicKind = 'delta' | 'digest' | 'want' | 'state' | 'energy';

export interface ParsedTopic {
  kind: TopicKind;
  node: string;
}

const SEGMENT = /^[A-Za-z0-9_-]{1,64}$/;

/** Build the topic set for a fleet. */
export function fleetTopics(fleet: string): Topics {
  const root = `h3lix/v1/${fleet}/`;
  return {
    root,
    delta: (n) => `${root}ccf/delta/${n}`,
    digest: (n) => `${root}ccf/digest/${n}`,
    want: (n) => `${root}ccf/want/${n}`,
    state: (n) => `${root}state/${n}`,
    energy: (n) => `${root}energy/${n}`,
    subscriptions: () => [`${root}state/+`, `${root}ccf/+/+`],
  };
}

/** Parse a topic under `topics.root`; undefined for anything we do not handle. */
export function parseTopic(topics: Topics, topic: string): ParsedTopic | undefined {
  if (!topic.startsWith(topics.root)) return undefined;
  const parts = topic.slice(topics.root.length).split('/');
  let kind: string | undefined;
  let node: string | undefined;
  if (parts.length === 3 && parts[0] === 'ccf') [, kind, node] = parts;
  else if (parts.length === 2) [kind, node] = parts;
  if (!node || !SEGMENT.test(node)) return undefined;
  if (kind === 'delta' || kind === 'digest' || kind === 'want') return parts.length === 3 ? { kind, node } : undefined;
  if (kind === 'state' || kind === 'energy') return parts.length === 2 ? { kind, node } : undefined;
  return undefined;
}

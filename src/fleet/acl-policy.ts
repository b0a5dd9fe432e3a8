/**
 * Who may publish and subscribe where (DESIGN section 8: "a node publishes only under its own <node>
 * topics"). One rule table serves the aedes hooks (broker-auth.ts) and the Mosquitto ACL generator
 * (mosquitto-acl.ts), so the embedded broker and an upstream Mosquitto enforce the same policy.
 *
 * Topics, all under `h3lix/v1/<fleet>/` (DESIGN section 7, plus the fleet topics this feature adds):
 *   fleet/revocations      retained, fleet-signed revocation list
 *   fleet/certs/<node>     retained, fleet-signed certificate of <node> (published by the node or provisioner)
 *   provision/request/<id> and provision/response/<id>   (<id> = claim request id, or the node id for renewal)
 */
export type Principal =
  | { kind: 'node'; nodeId: string }
  /** A board holding only a claim; `requestId` is its MQTT client id and claim request id. */
  | { kind: 'claim'; batch: string; requestId: string }
  | { kind: 'provisioner' };

/** `<self>` below is the node id (node) or the request id (claim). */
const NODE_PUBLISH = ['ccf/delta/<self>', 'ccf/digest/<self>', 'ccf/want/<self>', 'state/<self>', 'energy/<self>', 'obs/<self>', 'pred/<self>', 'cmd/<self>/reply', 'fleet/certs/<self>', 'provision/request/<self>'];
const NODE_SUBSCRIBE = ['ccf/+/+', 'ccf/delta/+', 'ccf/digest/+', 'ccf/want/+', 'state/+', 'energy/+', 'obs/<self>', 'fleet/revocations', 'fleet/certs/+', 'cmd/<self>', 'provision/response/<self>'];
const CLAIM_PUBLISH = ['provision/request/<self>'];
const CLAIM_SUBSCRIBE = ['provision/response/<self>'];
const PROVISIONER_PUBLISH = ['provision/response/+', 'cmd/+', 'fleet/revocations', 'fleet/certs/+'];
const PROVISIONER_SUBSCRIBE = ['provision/request/+', 'cmd/+/reply', 'state/+', 'fleet/revocations', 'fleet/certs/+'];

export interface AclRules {
  publish: string[];
  subscribe: string[];
}

/** The rules for one principal, as full topic patterns (`+`/`#` are MQTT wildcards). */
export function rulesFor(fleet: string, p: Principal): AclRules {
  const root = `h3lix/v1/${fleet}/`;
  const self = p.kind === 'node' ? p.nodeId : p.kind === 'claim' ? p.requestId : '';
  const expand = (list: string[]) => list.map((t) => root + t.replace('<self>', self));
  if (p.kind === 'node') return { publish: expand(NODE_PUBLISH), subscribe: expand(NODE_SUBSCRIBE) };
  if (p.kind === 'claim') return { publish: expand(CLAIM_PUBLISH), subscribe: expand(CLAIM_SUBSCRIBE) };
  return { publish: expand(PROVISIONER_PUBLISH), subscribe: expand(PROVISIONER_SUBSCRIBE) };
}

/** Raw rule templates (with `<self>`) for the Mosquitto generator. */
export const RULE_TEMPLATES = { NODE_PUBLISH, NODE_SUBSCRIBE, CLAIM_PUBLISH, CLAIM_SUBSCRIBE, PROVISIONER_PUBLISH, PROVISIONER_SUBSCRIBE };

/** True when the concrete `topic` matches the rule `pattern` [MQTT-4.7.1]. */
export function topicMatches(pattern: string, topic: string): boolean {
  const p = pattern.split('/');
  const t = topic.split('/');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '#') return true;
    if (i >= t.length) return false;
    if (p[i] !== '+' && p[i] !== t[i]) return false;
  }
  return p.length === t.length;
}

/** True when every topic the subscription `filter` can match is matched by `pattern`. */
export function filterCovered(pattern: string, filter: string): boolean {
  const p = pattern.split('/');
  const f = filter.split('/');
  for (let i = 0; i < f.length; i++) {
    if (p[i] === '#') return true;
    if (i >= p.length) return false;
    if (f[i] === '#') return false; // the filter reaches deeper than a non-# pattern
    if (f[i] === '+') {
      if (p[i] !== '+') return false;
    } else if (p[i] !== '+' && p[i] !== f[i]) return false;
  }
  return p.length === f.length;
}

/** A concrete publish topic must contain no wildcards [MQTT-3.3.2-2]. */
export function mayPublish(rules: AclRules, topic: string): boolean {
  if (topic.includes('+') || topic.includes('#')) return false;
  return rules.publish.some((r) => topicMatches(r, topic));
}

export function maySubscribe(rules: AclRules, filter: string): boolean {
  return rules.subscribe.some((r) => filterCovered(r, filter));
}

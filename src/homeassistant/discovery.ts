/**
 * Home Assistant MQTT discovery payloads (Home Assistant's `mqtt/schemas.py` DEVICE_DISCOVERY_SCHEMA
 * and the sensor platform): device-based `<prefix>/device/<id>/config` with `device`, `origin` and
 * `components` (Home Assistant 2024.12+), or one `<prefix>/sensor/<id>/<object>/config` per sensor for
 * older releases. Availability follows the node's retained birth/death on `state/<node>` (JSON
 * `{"online": true|false, ...}`), so an entity goes unavailable when the broker publishes the will.
 */
import { H3LIX_VERSION } from '../util/version.js';
import type { SensorSpec } from './sensors.js';

export { H3LIX_VERSION };

/** What the payloads are built from. */
export interface DiscoveryInput {
  prefix: string;
  nodeId: string;
  board: string;
  deviceName: string;
  /** JSON state topic (one object with a key per sensor id). */
  stateTopic: string;
  /** The node's retained birth/death topic. */
  availabilityTopic: string;
  /** Seconds; 0 = never expire. */
  expireAfter: number;
  sensors: readonly SensorSpec[];
  /** Sensor ids published before that are gone now: removed from Home Assistant. Default none. */
  removed?: readonly string[];
}

export interface DiscoveryMessage {
  topic: string;
  /** JSON text; '' clears a retained config (removes the entity). */
  payload: string;
}

/** Home Assistant object ids: [a-zA-Z0-9_-] (its discovery TOPIC_MATCHER). */
export const haObjectId = (nodeId: string): string => `h3lix_${nodeId.replace(/[^a-zA-Z0-9_-]/g, '_')}`;

const AVAILABILITY_TEMPLATE = "{{ 'online' if value_json.online else 'offline' }}";

function device(i: DiscoveryInput): Record<string, unknown> {
  return { identifiers: [haObjectId(i.nodeId)], name: i.deviceName, manufacturer: 'h3lix-edge', model: i.board, sw_version: H3LIX_VERSION, serial_number: i.nodeId };
}

function origin(): Record<string, unknown> {
  return { name: 'h3lix-edge', sw_version: H3LIX_VERSION };
}

function availability(i: DiscoveryInput): Record<string, unknown> {
  return { availability: [{ topic: i.availabilityTopic, value_template: AVAILABILITY_TEMPLATE, payload_available: 'online', payload_not_available: 'offline' }], availability_mode: 'latest' };
}

function component(i: DiscoveryInput, s: SensorSpec): Record<string, unknown> {
  const { id, ...rest } = s;
  return {
    platform: 'sensor',
    ...rest,
    unique_id: `${haObjectId(i.nodeId)}_${id}`,
    value_template: `{{ value_json.${id} }}`,
    ...(i.expireAfter > 0 && s.entity_category !== 'diagnostic' ? { expire_after: i.expireAfter } : {}),
  };
}

/** The device-based config (one retained message) on `<prefix>/device/<id>/config`. */
export function deviceDiscovery(i: DiscoveryInput): DiscoveryMessage {
  const components: Record<string, unknown> = {};
  for (const s of i.sensors) components[`${haObjectId(i.nodeId)}_${s.id}`] = component(i, s);
  // [HA MQTT docs, "device discovery"]: a component left with only its platform is removed
  for (const id of i.removed ?? []) components[`${haObjectId(i.nodeId)}_${id}`] = { platform: 'sensor' };
  const payload = { device: device(i), origin: origin(), components, state_topic: i.stateTopic, qos: 1, ...availability(i) };
  return { topic: `${i.prefix}/device/${haObjectId(i.nodeId)}/config`, payload: JSON.stringify(payload) };
}

/** Per-component fallback: one retained config per sensor; removed sensors get an empty payload. */
export function componentDiscovery(i: DiscoveryInput): DiscoveryMessage[] {
  const node = haObjectId(i.nodeId);
  const out = i.sensors.map((s) => ({
    topic: componentTopic(i.prefix, i.nodeId, s.id),
    payload: JSON.stringify({ ...component(i, s), state_topic: i.stateTopic, qos: 1, ...availability(i), device: device(i), origin: origin() }),
  }));
  for (const id of i.removed ?? []) out.push({ topic: `${i.prefix}/sensor/${node}/${id}/config`, payload: '' });
  return out;
}

export function componentTopic(prefix: string, nodeId: string, sensorId: string): string {
  return `${prefix}/sensor/${haObjectId(nodeId)}/${sensorId}/config`;
}

export function deviceTopic(prefix: string, nodeId: string): string {
  return `${prefix}/device/${haObjectId(nodeId)}/config`;
}

/**
 * Home Assistant's documented discovery schema, as the checks its MQTT integration applies
 * (homeassistant/components/mqtt/schemas.py DEVICE_DISCOVERY_SCHEMA, MQTT_ENTITY_DEVICE_INFO_SCHEMA,
 * MQTT_ORIGIN_INFO_SCHEMA, MQTT_AVAILABILITY_SCHEMA; mqtt/sensor.py's validation of device class,
 * state class and unit; sensor/const.py DEVICE_CLASS_UNITS and DEVICE_CLASS_STATE_CLASSES for the
 * classes used here). Written from those sources for the tests; it checks, it does not build.
 */
import { z } from 'zod';

/** discovery.py TOPIC_MATCHER, applied to the topic after `<prefix>/`. */
export const TOPIC_MATCHER = /^(?<component>\w+)\/(?:(?<node_id>[a-zA-Z0-9_-]+)\/)?(?<object_id>[a-zA-Z0-9_-]+)\/config$/;

const DEVICE_CLASS_UNITS: Record<string, readonly string[]> = {
  battery: ['%'],
  voltage: ['V', 'mV', 'µV', 'kV', 'MV'],
  current: ['A', 'mA'],
  power: ['mW', 'W', 'kW', 'MW', 'GW', 'TW', 'BTU/h'],
  energy: ['J', 'kJ', 'MJ', 'GJ', 'mWh', 'Wh', 'kWh', 'MWh', 'GWh', 'TWh', 'cal', 'kcal', 'Mcal', 'Gcal'],
};
const DEVICE_CLASS_STATE_CLASSES: Record<string, readonly string[]> = {
  battery: ['measurement'],
  voltage: ['measurement'],
  current: ['measurement'],
  power: ['measurement'],
  energy: ['total', 'total_increasing'],
  enum: [],
};
const STATE_CLASSES = ['measurement', 'measurement_angle', 'total', 'total_increasing'];

const topic = z.string().min(1).refine((t) => !t.includes('#') && !t.includes('+') && !t.includes('\0'), 'a topic without wildcards');
const template = z.string().regex(/^\{\{.*\}\}$/s, 'a Jinja template');

export const availabilitySchema = z.object({
  availability: z.array(z.object({ topic, value_template: template.optional(), payload_available: z.string().optional(), payload_not_available: z.string().optional() }).strict()).min(1),
  availability_mode: z.enum(['all', 'any', 'latest']).optional(),
});

export const deviceInfoSchema = z
  .object({
    identifiers: z.union([z.string(), z.array(z.string())]).optional(),
    connections: z.array(z.tuple([z.string(), z.string()])).optional(),
    manufacturer: z.string().optional(),
    model: z.string().optional(),
    name: z.string().optional(),
    hw_version: z.string().optional(),
    serial_number: z.string().optional(),
    sw_version: z.string().optional(),
    via_device: z.string().optional(),
    suggested_area: z.string().optional(),
    configuration_url: z.string().url().optional(),
  })
  .strict()
  .refine((d) => (Array.isArray(d.identifiers) ? d.identifiers.length > 0 : !!d.identifiers) || (d.connections?.length ?? 0) > 0, 'Device must have at least one identifying value');

export const originSchema = z.object({ name: z.string().min(1), sw_version: z.string().optional(), support_url: z.string().url().optional() }).strict();

/** The sensor platform's keys used by h3lix and the rules between them. */
export const sensorSchema = z
  .object({
    platform: z.literal('sensor'),
    name: z.string().min(1).nullable(),
    unique_id: z.string().min(1),
    value_template: template,
    device_class: z.enum(['battery', 'voltage', 'current', 'power', 'energy', 'enum']).optional(),
    state_class: z.enum(STATE_CLASSES as [string, ...string[]]).optional(),
    unit_of_measurement: z.string().optional(),
    options: z.array(z.string()).min(1).optional(),
    entity_category: z.enum(['config', 'diagnostic']).optional(),
    expire_after: z.number().int().positive().optional(),
    suggested_display_precision: z.number().int().min(0).optional(),
    icon: z.string().regex(/^[a-z]+:[a-z0-9-]+$/).optional(),
    state_topic: topic.optional(),
    qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
  })
  .passthrough()
  .superRefine((s, ctx) => {
    const dc = s.device_class;
    if (dc === 'enum') {
      if (s.state_class) ctx.addIssue({ code: 'custom', message: 'an enum sensor has no state_class' });
      if (s.unit_of_measurement) ctx.addIssue({ code: 'custom', message: 'an enum sensor has no unit' });
      if (!s.options) ctx.addIssue({ code: 'custom', message: 'an enum sensor needs options' });
    } else if (s.options) ctx.addIssue({ code: 'custom', message: 'options need device_class enum' });
    if (dc && dc !== 'enum') {
      if (!DEVICE_CLASS_UNITS[dc]!.includes(s.unit_of_measurement ?? '')) ctx.addIssue({ code: 'custom', message: `unit ${s.unit_of_measurement} is not valid for device_class ${dc}` });
      if (s.state_class && !DEVICE_CLASS_STATE_CLASSES[dc]!.includes(s.state_class)) ctx.addIssue({ code: 'custom', message: `state_class ${s.state_class} is not valid for device_class ${dc}` });
    }
  });

export const deviceDiscoverySchema = availabilitySchema.extend({
  device: deviceInfoSchema,
  origin: originSchema,
  components: z.record(z.string(), z.union([z.object({ platform: z.literal('sensor') }).strict(), sensorSchema])),
  state_topic: topic.optional(),
  command_topic: topic.optional(),
  qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
  encoding: z.string().optional(),
});

export const componentDiscoverySchema = z.intersection(sensorSchema, availabilitySchema.extend({ device: deviceInfoSchema, origin: originSchema }));

/** Render the two template forms h3lix uses, the way Jinja would; anything else throws. */
export function renderTemplate(tpl: string, value: unknown): string {
  const v = value as Record<string, unknown>;
  let m = /^\{\{ value_json\.([a-z_]+) \}\}$/.exec(tpl);
  if (m) {
    const x = v[m[1]!];
    return x === null || x === undefined ? 'None' : String(x);
  }
  m = /^\{\{ '([a-z]+)' if value_json\.([a-z_]+) else '([a-z]+)' \}\}$/.exec(tpl);
  if (m) return v[m[2]!] ? m[1]! : m[3]!;
  throw new Error(`template not understood by the test renderer: ${tpl}`);
}

/**
 * The sensors a board offers Home Assistant, with the device classes, state classes and units Home
 * Assistant's sensor entity accepts for them (its `DEVICE_CLASS_UNITS` / `DEVICE_CLASS_STATE_CLASSES`
 * tables: battery → %, voltage → V, current → A, power → W, energy → Wh with `total_increasing`, enum
 * → options and no unit or state class).
 */
import { ENERGY_MODES } from '../energy/modes.js';

export interface SensorSpec {
  /** Object id: part of the unique id and the per-component discovery topic; also the state key. */
  id: string;
  name: string;
  device_class?: 'battery' | 'voltage' | 'current' | 'power' | 'energy' | 'enum';
  state_class?: 'measurement' | 'total_increasing';
  unit_of_measurement?: string;
  options?: readonly string[];
  entity_category?: 'diagnostic';
  suggested_display_precision?: number;
  icon?: string;
}

/** Every sensor; `learning` adds the privacy budget (it exists only while the learning feature runs). */
export function boardSensors(o: { learning: boolean }): SensorSpec[] {
  const s: SensorSpec[] = [
    { id: 'battery', name: 'Battery', device_class: 'battery', state_class: 'measurement', unit_of_measurement: '%', suggested_display_precision: 0 },
    { id: 'battery_voltage', name: 'Battery voltage', device_class: 'voltage', state_class: 'measurement', unit_of_measurement: 'V', suggested_display_precision: 2 },
    { id: 'battery_current', name: 'Battery current', device_class: 'current', state_class: 'measurement', unit_of_measurement: 'A', suggested_display_precision: 2 },
    { id: 'pv_power', name: 'PV power', device_class: 'power', state_class: 'measurement', unit_of_measurement: 'W', suggested_display_precision: 1 },
    { id: 'load_power', name: 'Load power', device_class: 'power', state_class: 'measurement', unit_of_measurement: 'W', suggested_display_precision: 1 },
    { id: 'pv_energy', name: 'PV energy', device_class: 'energy', state_class: 'total_increasing', unit_of_measurement: 'Wh', suggested_display_precision: 0 },
    { id: 'load_energy', name: 'Load energy', device_class: 'energy', state_class: 'total_increasing', unit_of_measurement: 'Wh', suggested_display_precision: 0 },
    { id: 'energy_mode', name: 'Energy mode', device_class: 'enum', options: ENERGY_MODES, icon: 'mdi:solar-power' },
    { id: 'energy_budget', name: 'Energy budget', state_class: 'measurement', unit_of_measurement: 'Wh', entity_category: 'diagnostic', suggested_display_precision: 1 },
    { id: 'outbox', name: 'Outbox depth', state_class: 'measurement', unit_of_measurement: 'messages', entity_category: 'diagnostic', icon: 'mdi:tray-full' },
    { id: 'field_contributions', name: 'Field contributions', state_class: 'measurement', entity_category: 'diagnostic', icon: 'mdi:graph' },
  ];
  if (o.learning) s.push({ id: 'privacy_epsilon', name: 'Privacy budget spent', state_class: 'measurement', unit_of_measurement: 'ε', entity_category: 'diagnostic', suggested_display_precision: 2, icon: 'mdi:shield-lock' });
  return s;
}

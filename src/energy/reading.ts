/**
 * One accepted energy reading in SI units, whatever source it came from (VE.Direct, the companion
 * MCU, Modbus). This is the shape `h3lix energy watch --json` prints and `energy/<node>` carries.
 */
export interface EnergyReading {
  /** Wall-clock time of the reading, ms since the Unix epoch. */
  time: number;
  /** Source URI or name (e.g. `vedirect:/dev/ttyUSB0`). */
  source: string;
  /** Battery voltage, V. */
  batteryVoltage: number;
  /** Battery current, A; positive = charging. */
  batteryCurrent: number;
  /** State of charge 0..1, when the source reports it. */
  soc?: number;
  /** PV (panel) voltage, V. */
  pvVoltage?: number;
  /** PV power, W. */
  pvPower?: number;
  /** Load power, W, when known. */
  loadPower?: number;
  /** Charger state / error codes and other raw fields, source-specific. */
  extra?: Record<string, string | number>;
}

/** firmware-bridge public API: sources, protocols, and the emulator (see firmware-bridge/README.md). */
export { openEnergySource, type OpenEnergySourceContext } from './source/open.js';
export { parseSourceUri, sourceUriFromProfile, SOURCE_PROTOCOLS, type SourceSpec, type SourceProtocol } from './source/uri.js';
export { ReconnectingSource, type EnergySource, type EnergySourceEvents, type SourceStatus, type SourceReject, type SourceCounters } from './source/energy-source.js';
export { serialLink, tcpLink, type Link } from './link/link.js';
export { VeDirectTextParser, type VeDirectFrame, type VeDirectReject } from './vedirect/framing.js';
export { decodeVeDirect, encodeVeDirectBlock } from './vedirect/protocol.js';
export { McuClient } from './mcu/client.js';
export { encodeFrame as encodeMcuFrame, decodePacket as decodeMcuPacket, MsgType as McuMsgType } from './mcu/protocol.js';
export { EPEVER, RENOGY, type RegisterMap } from './modbus/registers.js';
export { Emulator, EMULATED_PROTOCOLS, type EmulatorOptions, type EmulatedProtocol } from './emulator/emulator.js';
export { parseTraceCsv, loadTraceCsv, type TracePoint } from './emulator/trace.js';
export { SolarDay, type SolarState } from './emulator/solar-model.js';

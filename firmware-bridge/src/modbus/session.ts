import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import type { ModbusRTU as ModbusRtuClient } from 'modbus-serial/ModbusRTU.js';
import { describeError } from '../../../src/errors.js';
import type { TimerHandle } from '../../../src/util/clock.js';
import type { ProtocolSession, SessionContext } from '../source/energy-source.js';
import { DuplexModbusPort } from './port-adapter.js';
import type { RegisterMap } from './registers.js';

// modbus-serial is CommonJS (`module.exports = ModbusRTU`). It is required when the first Modbus
// session opens, not when the daemon starts: it pulls in serialport, which a board without a Modbus
// charge controller should not pay for in memory.
const requireCjs = createRequire(import.meta.url);
let ModbusRTU: (new (port: unknown) => ModbusRtuClient) | undefined;
const modbusRtu = (): new (port: unknown) => ModbusRtuClient => (ModbusRTU ??= requireCjs('modbus-serial') as new (port: unknown) => ModbusRtuClient);

/** Options of {@link modbusSession}. */
export interface ModbusSessionOptions {
  map: RegisterMap;
  /** Modbus slave id. Default 1. */
  unit?: number;
  /** Poll period. Default 5000 ms. */
  intervalMs?: number;
  /** Per-request response timeout (modbus-serial, real time). Default 1000 ms. */
  timeoutMs?: number;
  /** Consecutive failed polls after which the link is declared broken (reconnect). Default 3. */
  maxFailures?: number;
}

/**
 * Modbus-RTU adapter layer: modbus-serial's `ModbusRTU` over the open stream (through
 * {@link DuplexModbusPort}); polls the register map every `intervalMs` on the injected clock.
 */
export function modbusSession(stream: Duplex, ctx: SessionContext, options: ModbusSessionOptions): ProtocolSession {
  const port = new DuplexModbusPort(stream);
  const client = new (modbusRtu())(port);
  client.setID(options.unit ?? 1);
  client.setTimeout(options.timeoutMs ?? 1000);
  let stopped = false;
  let timer: TimerHandle | undefined;
  let failures = 0;

  const read = async (fc: 3 | 4, address: number, count: number): Promise<number[]> => {
    const res = fc === 4 ? await client.readInputRegisters(address, count) : await client.readHoldingRegisters(address, count);
    return res.data;
  };

  const poll = async () => {
    const words: Array<number[] | undefined> = [];
    for (const r of options.map.reads) {
      try {
        words.push(await read(r.fc, r.address, r.count));
      } catch (err) {
        if (!r.optional) throw new Error(`FC${r.fc} 0x${r.address.toString(16).padStart(4, '0')}×${r.count}: ${modbusErrorText(err)}`);
        words.push(undefined);
      }
      if (stopped) return;
    }
    ctx.reading({ time: ctx.clock.now(), source: ctx.source, ...options.map.decode(words) });
  };

  const cycle = () => {
    poll().then(
      () => {
        failures = 0;
      },
      (err: unknown) => {
        if (stopped) return;
        failures++;
        ctx.reject('modbus', describeError(err));
        if (failures >= (options.maxFailures ?? 3)) ctx.fail(`${options.map.name} controller: ${failures} polls failed (${describeError(err)})`);
      },
    ).finally(() => {
      if (!stopped) timer = ctx.clock.setTimeout(cycle, options.intervalMs ?? 5000);
    });
  };

  client.open(() => cycle());
  return {
    stop() {
      stopped = true;
      if (timer) ctx.clock.clearTimeout(timer);
      port.destroy();
    },
  };
}

/** modbus-serial rejects with plain objects for some errors (e.g. `{ name: 'TransactionTimedOutError', message }`). */
export function modbusErrorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === 'object') {
    const e = err as { name?: unknown; message?: unknown; errno?: unknown };
    const text = [e.name, e.message, e.errno].filter((x) => typeof x === 'string' && x !== '').join(': ');
    if (text) return text;
  }
  return describeError(err);
}

import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { ModbusRtuResponseFramer } from './framing.js';

/**
 * Presents an already-open byte stream (serial port, pty, TCP bridge) as the "port" object
 * modbus-serial's `ModbusRTU` accepts in its constructor (the shape of its `RTUBufferedPort`: open,
 * close, write, isOpen, `data` events carrying whole response frames). The link is owned by the
 * source, so `open` is immediate and `close` only detaches.
 */
export class DuplexModbusPort extends EventEmitter {
  isOpen = false;
  /** Read by ModbusRTU to pick the transaction; RTU has one outstanding request. */
  _transactionIdRead = 1;
  _transactionIdWrite = 1;
  readonly framer = new ModbusRtuResponseFramer();
  private readonly onFrame = (frame: Buffer) => this.emit('data', frame);

  constructor(private readonly stream: Duplex) {
    super();
  }

  open(callback: (err: Error | null) => void): void {
    this.stream.pipe(this.framer);
    this.framer.on('data', this.onFrame);
    this.isOpen = true;
    callback(null);
  }

  close(callback?: () => void): void {
    this.detach();
    this.emit('close');
    callback?.();
  }

  destroy(): void {
    this.detach();
  }

  write(data: Buffer): void {
    // Modbus RTU request: unit id, function code, ... (Modbus over Serial Line §2.3)
    this.framer.expect(data[0]!, data[1]!);
    this.stream.write(data);
  }

  private detach(): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.stream.unpipe(this.framer);
    this.framer.removeListener('data', this.onFrame);
    this.framer.destroy();
  }
}

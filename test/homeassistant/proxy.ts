/**
 * A loopback TCP proxy that can "lose power": `freeze()` stops forwarding in both directions without
 * closing anything, as a board that lost power looks to its broker (no FIN, no RST), so the broker
 * finds out only through the MQTT keep-alive and then publishes the will.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export class FreezableProxy {
  private server: Server | undefined;
  private frozen = false;
  private readonly pairs: Array<[Socket, Socket]> = [];

  constructor(private readonly target: () => number) {}

  async start(): Promise<number> {
    const server = createServer((client) => {
      const upstream = connect(this.target(), '127.0.0.1');
      this.pairs.push([client, upstream]);
      const forward = (from: Socket, to: Socket): void => {
        from.on('data', (d: Buffer) => {
          if (!this.frozen) to.write(d);
        });
      };
      forward(client, upstream);
      forward(upstream, client);
      const close = (): void => {
        if (this.frozen) return; // a dead board never closes anything
        client.destroy();
        upstream.destroy();
      };
      client.on('close', close).on('error', () => undefined);
      upstream.on('close', close).on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    this.server = server;
    return (server.address() as { port: number }).port;
  }

  /** The board dies: no byte goes through any more, no socket is closed. */
  freeze(): void {
    this.frozen = true;
  }

  async stop(): Promise<void> {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

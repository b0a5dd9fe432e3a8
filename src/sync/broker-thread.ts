import { Worker } from 'node:worker_threads';
import { H3lixError } from '../errors.js';
import { workerEntry } from '../util/worker-entry.js';

/** Options of {@link startBrokerThread}: listen address and port. Defaults `127.0.0.1`, 0 (a free port). */
export interface BrokerThreadOptions {
  host?: string;
  port?: number;
}

/** A running broker thread: its `mqtt://` URL and how to stop it. */
export interface BrokerThread {
  readonly url: string;
  stop(): Promise<void>;
}

/** Messages from the broker worker (`broker-thread-worker.ts`). */
export type FromBrokerThread = { type: 'listening'; url: string } | { type: 'failed'; message: string } | { type: 'stopped' };

/**
 * An open (no auth hooks) {@link EmbeddedBroker} on its own worker thread, so its event loop is its
 * own. Node accepts one TCP connection per event-loop iteration: a broker sharing a loop that is busy
 * for 0.5 s per iteration (the demo's 40 daemons in one process) completes one reconnect every 0.5 s,
 * and a partition's 13 reconnecting daemons wait up to 7 s for their CONNACKs (docs/sync.md).
 * Rejects with BROKER_UNAVAILABLE when the broker cannot listen.
 */
export async function startBrokerThread(opts: BrokerThreadOptions = {}): Promise<BrokerThread> {
  const entry = workerEntry(import.meta.url, 'broker-thread-worker');
  const worker = new Worker(entry.script, { eval: entry.eval, workerData: { host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 } });
  const first = await new Promise<FromBrokerThread>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`broker thread exited with code ${code} before listening`)));
  }).catch((err: unknown) => ({ type: 'failed' as const, message: err instanceof Error ? err.message : String(err) }));
  worker.removeAllListeners();
  if (first.type !== 'listening') {
    await worker.terminate();
    throw new H3lixError('BROKER_UNAVAILABLE', `broker thread failed to start: ${first.type === 'failed' ? first.message : first.type}`, { retryable: true });
  }
  worker.on('error', () => undefined);
  return {
    url: first.url,
    stop: async () => {
      const stopped = new Promise<void>((r) => {
        worker.once('message', () => r());
        worker.once('exit', () => r());
      });
      worker.postMessage('stop');
      await Promise.race([stopped, new Promise<void>((r) => setTimeout(r, 2000).unref())]);
      await worker.terminate();
    },
  };
}

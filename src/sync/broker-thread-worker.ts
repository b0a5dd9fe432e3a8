/** Worker entry of {@link startBrokerThread}: one open EmbeddedBroker; 'stop' closes it. */
import { parentPort, workerData } from 'node:worker_threads';
import { EmbeddedBroker } from './embedded-broker.js';
import type { FromBrokerThread } from './broker-thread.js';

const port = parentPort!;
const data = workerData as { host: string; port: number };
const broker = new EmbeddedBroker({ host: data.host, port: data.port });
const send = (m: FromBrokerThread) => port.postMessage(m);
try {
  await broker.start();
  send({ type: 'listening', url: broker.url });
} catch (err) {
  send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
}
port.on('message', (m) => {
  if (m !== 'stop') return;
  void broker.stop().finally(() => {
    send({ type: 'stopped' });
    port.close();
  });
});

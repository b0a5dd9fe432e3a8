/** Worker entry of {@link DemoGroupThread}: one {@link DemoGroup}, driven by messages. */
import { parentPort, workerData } from 'node:worker_threads';
import { DemoGroup, type DemoGroupSpec } from './demo-group.js';
import type { FromGroupWorker, ToGroupWorker } from './demo-group-thread.js';

const port = parentPort!;
const group = new DemoGroup(workerData as DemoGroupSpec);
const reply = (m: FromGroupWorker) => port.postMessage(m);

port.on('message', (m: ToGroupWorker) => {
  if (m.op === 'contribute') return group.contribute(m.c);
  if (m.op === 'online') return group.setOnline(m.nodes, m.online);
  const run = m.op === 'start' ? group.start() : m.op === 'snapshot' ? group.snapshot(m.expected) : group.stop();
  run.then(
    (value) => reply({ id: m.id, ok: true, value }),
    (err: unknown) => reply({ id: m.id, ok: false, message: err instanceof Error ? err.message : String(err) }),
  );
});

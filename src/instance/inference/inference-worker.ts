/**
 * Worker thread that owns the onnxruntime-node session. `session.run` is synchronous native code that
 * blocks its thread for the whole run (DESIGN section 2), so it runs here, never on the main loop.
 * Protocol: see protocol.ts. Buffers travel as transferables in both directions (no copies).
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js';

if (!parentPort) throw new Error('inference-worker must run in a worker thread');
const port = parentPort;
const init = workerData as WorkerInit;
const post = (msg: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);

async function main(): Promise<void> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(init.modelBytes, { intraOpNumThreads: init.intraOpThreads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  } catch (err) {
    post({ type: 'load-failed', message: (err as Error).message });
    return;
  }
  port.on('message', (msg: ToWorker) => {
    // An exception thrown from a message listener is uncaught: the worker dies like a native crash.
    if (msg.type === 'crash') throw new Error('injected worker crash');
    const started = performance.now();
    const feeds: Record<string, ort.Tensor> = { [init.inputName]: new ort.Tensor('float32', msg.input, [msg.n, init.inputDim]) };
    if (init.contextName && init.contextDim) {
      feeds[init.contextName] = new ort.Tensor('float32', msg.context ?? new Float32Array(msg.n * init.contextDim), [msg.n, init.contextDim]);
    }
    session.run(feeds).then(
      (out) => {
        const data = out[init.outputName]!.data as Float32Array;
        // The output may be backed by native memory that cannot be detached: copy into a fresh buffer.
        const output = new Float32Array(data);
        post({ type: 'result', id: msg.id, output, runMs: performance.now() - started }, [output.buffer as ArrayBuffer]);
      },
      (err: unknown) => post({ type: 'run-failed', id: msg.id, message: (err as Error).message }),
    );
  });
  post({ type: 'ready', inputNames: session.inputNames, outputNames: session.outputNames });
}

void main();

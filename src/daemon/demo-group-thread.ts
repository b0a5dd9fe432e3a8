import { Worker } from 'node:worker_threads';
import { H3lixError } from '../errors.js';
import { workerEntry } from '../util/worker-entry.js';
import type { DemoContribution, DemoGroupApi, DemoGroupSnapshot, DemoGroupSpec } from './demo-group.js';

/** Requests to a group's worker (`demo-group-worker.ts`); replies carry the same `id`. */
export type ToGroupWorker =
  | { id: number; op: 'start' }
  | { id: number; op: 'snapshot'; expected: [string, number][] }
  | { id: number; op: 'stop' }
  | { op: 'contribute'; c: DemoContribution }
  | { op: 'online'; nodes: number[]; online: boolean };

export type FromGroupWorker = { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string };

/**
 * A {@link DemoGroup} on its own worker thread: its daemons get an event loop (and a core) of their
 * own, as boards do. Requests are answered in order; a worker that dies fails what is pending.
 */
export class DemoGroupThread implements DemoGroupApi {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private dead: Error | undefined;

  constructor(spec: DemoGroupSpec) {
    const entry = workerEntry(import.meta.url, 'demo-group-worker');
    this.worker = new Worker(entry.script, { eval: entry.eval, workerData: spec });
    this.worker.on('message', (m: FromGroupWorker) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new H3lixError('INTERNAL', `demo worker: ${m.message}`));
    });
    const fail = (err: Error) => {
      this.dead ??= err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new H3lixError('INTERNAL', `demo worker exited with code ${code}`)));
  }

  private call<T>(msg: { op: 'start' } | { op: 'snapshot'; expected: [string, number][] } | { op: 'stop' }): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, ...msg } satisfies ToGroupWorker);
    });
  }

  start(): Promise<string[]> {
    return this.call<string[]>({ op: 'start' });
  }

  contribute(c: DemoContribution): void {
    if (!this.dead) this.worker.postMessage({ op: 'contribute', c } satisfies ToGroupWorker);
  }

  setOnline(nodes: number[], online: boolean): void {
    if (!this.dead) this.worker.postMessage({ op: 'online', nodes, online } satisfies ToGroupWorker);
  }

  snapshot(expected: [string, number][]): Promise<DemoGroupSnapshot> {
    return this.call<DemoGroupSnapshot>({ op: 'snapshot', expected });
  }

  async stop(): Promise<void> {
    await this.call({ op: 'stop' }).catch(() => undefined);
    await this.worker.terminate();
  }
}

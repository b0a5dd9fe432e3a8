/**
 * How to start a worker thread whose script sits next to the calling module. Compiled: `<name>.js`
 * next to `moduleUrl`. Under tsx/tap (`moduleUrl` is a .ts file): Node 20 ignores `--import tsx` in a
 * worker's execArgv, so the worker is an eval stub that registers tsx's ESM hooks, then imports the
 * .ts file. Pass the result to `new Worker(entry.script, { eval: entry.eval, ... })`.
 */
export function workerEntry(moduleUrl: string, name: string): { script: URL | string; eval: boolean } {
  if (!moduleUrl.endsWith('.ts')) return { script: new URL(`./${name}.js`, moduleUrl), eval: false };
  const worker = new URL(`./${name}.ts`, moduleUrl).href;
  const api = import.meta.resolve('tsx/esm/api');
  return { script: `import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(worker)}); });`, eval: true };
}

/** A labeled tabular dataset and its CSV form (header row; label column first; numeric features). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface LabeledDataset {
  name: string;
  featureNames: string[];
  /** Feature rows, all of length featureNames.length. */
  X: number[][];
  /** One label per row. */
  y: string[];
}

/** Render as CSV: `label,<feature...>`, features with 6 significant digits. */
export function datasetToCsv(ds: LabeledDataset, labelColumn = 'label'): string {
  const lines = [[labelColumn, ...ds.featureNames].join(',')];
  ds.X.forEach((row, i) => lines.push([ds.y[i]!, ...row.map((v) => Number(v.toPrecision(6)).toString())].join(',')));
  return `${lines.join('\n')}\n`;
}

/** Write the CSV to `path` (parent directories created). */
export function writeDatasetCsv(path: string, ds: LabeledDataset, labelColumn = 'label'): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, datasetToCsv(ds, labelColumn));
}

/** Split rows by class: rows whose label is in `classes` vs the rest. */
export function filterClasses(ds: LabeledDataset, classes: readonly string[]): LabeledDataset {
  const keep = new Set(classes);
  const idx = ds.y.map((l, i) => (keep.has(l) ? i : -1)).filter((i) => i >= 0);
  return { ...ds, X: idx.map((i) => ds.X[i]!), y: idx.map((i) => ds.y[i]!) };
}

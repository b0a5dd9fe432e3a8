/**
 * Parse a numeric training CSV for `h3lix models build`: a header row, one label column, every other
 * column numeric. Rejections are H3lixError DATA_INVALID naming the row (1-based line number in the
 * file), the column and the offending value. No quoting support: fields must not contain commas.
 */
import { H3lixError } from '../../errors.js';
import type { LabeledDataset } from './dataset.js';

export function parseTrainingCsv(text: string, labelColumn: string, name = 'csv'): LabeledDataset {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  if (lines.length === 0) throw new H3lixError('DATA_INVALID', `${name}: file is empty (expected a header row and data rows)`);
  const header = lines[0]!.split(',').map((h) => h.trim());
  const labelIdx = header.indexOf(labelColumn);
  if (labelIdx < 0) {
    throw new H3lixError('DATA_INVALID', `${name}: no label column "${labelColumn}"; columns are: ${header.join(', ')}`, { detail: { columns: header } });
  }
  if (header.length < 2) throw new H3lixError('DATA_INVALID', `${name}: no feature columns besides the label "${labelColumn}"`);
  const featureNames = header.filter((_, i) => i !== labelIdx);
  const X: number[][] = [];
  const y: string[] = [];
  for (let li = 1; li < lines.length; li++) {
    const line = lines[li]!;
    if (line.trim() === '') continue;
    const cells = line.split(',');
    if (cells.length !== header.length) {
      throw new H3lixError('DATA_INVALID', `${name}: line ${li + 1} has ${cells.length} fields, header has ${header.length}`, { detail: { line: li + 1 } });
    }
    const row: number[] = [];
    cells.forEach((cell, ci) => {
      if (ci === labelIdx) return;
      const v = cell.trim();
      const num = Number(v);
      if (v === '' || !Number.isFinite(num)) {
        throw new H3lixError('DATA_INVALID', `${name}: line ${li + 1}, column "${header[ci]}": "${cell}" is not a finite number`, { detail: { line: li + 1, column: header[ci], value: cell } });
      }
      row.push(num);
    });
    const label = cells[labelIdx]!.trim();
    if (label === '') throw new H3lixError('DATA_INVALID', `${name}: line ${li + 1}: empty label in column "${labelColumn}"`, { detail: { line: li + 1 } });
    X.push(row);
    y.push(label);
  }
  if (X.length === 0) throw new H3lixError('DATA_INVALID', `${name}: header only, no data rows`);
  const classes = new Set(y);
  if (classes.size < 2) throw new H3lixError('DATA_INVALID', `${name}: only one class (${[...classes].join('')}) in column "${labelColumn}"; need at least 2 to train`);
  return { name, featureNames, X, y };
}

/** Local evolution: a private head retrained on history + synthetic field samples. */
export { LocalHistory, type LocalHistoryOptions, type LabelledEmbedding } from './history.js';
export { trainLocalHead, predictHead, synthesize, type LocalHead, type TrainHeadOptions } from './head.js';
export { LocalEvolutionTask, type LocalEvolutionOptions } from './task.js';

/** Conditioning (DESIGN section 5). */
export { buildPrototypes, scoreEmbedding, contextVector, type Prototype, type Prediction, type LocalStats, type ScoreKind } from './prototypes.js';
export { Conditioner, type ConditionerOptions, type FieldValues, type ConditionedPrediction, type PredictionSource } from './conditioner.js';

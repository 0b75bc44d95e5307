export { parseLabeledText, readLabeledFile } from './labeled-text';
export type { LabeledExample } from './labeled-text';
export { emailText, SPAMASSASSIN, spamAssassinExamples } from './spam-assassin';
export {
  balanceByDownsampling,
  encodeSplits,
  encodeTruncated,
  limitExamples,
  padBatch,
  resolveLabels,
  SPLIT_NAMES,
  splitBatches,
  stratifiedSplit,
} from './classification-dataset';
export type { ClassificationBatch, EncodedSplit, Splits } from './classification-dataset';
export { ADAPTER_SUBDIR, GPTClassifier } from './classifier';
export type { ClassifierSpec, Pooling } from './classifier';
export { classificationMetrics } from './metrics';
export type { ClassificationMetrics, ClassMetrics } from './metrics';
export { parseTrainSelection, selectTrainables } from './trainable-selection';
export type { TrainSelection } from './trainable-selection';
export { evaluateSplit } from './evaluate-split';

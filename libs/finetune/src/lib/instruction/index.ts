/** Instruction finetuning (ch. 7): Alpaca-format data, prompt styles, the book's collate, responses. */
export {
  loadInstructionData,
  parseInstructionData,
  parseJsonRecords,
  toInstructionEntry,
} from './instruction-data';
export type { InstructionEntry, JsonRecord } from './instruction-data';
export {
  ALPACA_STYLE,
  PHI3_STYLE,
  promptStyle,
  promptStyleNames,
  promptText,
  registerPromptStyle,
  trainingText,
} from './prompt-style';
export type { PromptStyle } from './prompt-style';
export { collateInstructions } from './collate';
export type { CollateOptions, EncodedExample } from './collate';
export {
  batchCount,
  encodeInstructions,
  instructionBatches,
  splitInstructionData,
} from './instruction-dataset';
export type { BatchOptions, InstructionSplit, SplitOptions } from './instruction-dataset';
export { generateResponses, loadResponses, saveResponses } from './responses';
export type { InstructionResponse, ResponseOptions } from './responses';

/**
 * Which parameters of a classifier train: the book's default (last block + final LayerNorm +
 * head), the last N blocks (+ final LayerNorm + head), everything, or LoRA adapters only.
 */
import { ConfigError, modelTrainables, variableTrainable, type TrainableTensor } from '@llm-forge/gpt';
import type { GPTClassifier } from './classifier';

/** A parsed `--train` choice. */
export type TrainSelection = { kind: 'last'; blocks: number } | { kind: 'all' } | { kind: 'lora' };

/** Parses `last-block`, `last-N` (N ≥ 1), `all` or `lora`. */
export function parseTrainSelection(value: string): TrainSelection {
  if (value === 'last-block') return { kind: 'last', blocks: 1 };
  if (value === 'all' || value === 'lora') return { kind: value };
  const match = /^last-(\d+)$/.exec(value);
  if (match && Number(match[1]) >= 1) return { kind: 'last', blocks: Number(match[1]) };
  throw new ConfigError('--train', value, 'last-block, last-N (N >= 1), all or lora');
}

/**
 * The trainable tensors of a classifier for a selection. For `lora`, adapters must already be
 * attached ({@link GPTClassifier.attachLora}); the body and the head stay frozen.
 */
export function selectTrainables(classifier: GPTClassifier, selection: TrainSelection): TrainableTensor[] {
  const model = classifier.model;
  const head = [
    variableTrainable('score.weight', classifier.weight),
    variableTrainable('score.bias', classifier.bias),
  ];
  if (selection.kind === 'lora') {
    if (!classifier.lora) throw new ConfigError('--train lora', 'no adapters', 'adapters attached first');
    return classifier.lora.trainables();
  }
  const names = model.layout.specs.map((s) => s.name);
  if (selection.kind === 'all') return [...modelTrainables(model, names), ...head];
  const L = model.config.nLayers;
  if (selection.blocks > L) {
    throw new ConfigError(
      '--train',
      `last-${selection.blocks}`,
      `at most last-${L} (the model has ${L} blocks)`,
    );
  }
  const blocks = new Set(Array.from({ length: selection.blocks }, (_, i) => `h.${L - 1 - i}.`));
  const chosen = names.filter((n) => n.startsWith('ln_f.') || [...blocks].some((b) => n.startsWith(b)));
  return [...modelTrainables(model, chosen), ...head];
}

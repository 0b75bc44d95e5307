/**
 * The token streams of a run, opened from its spec exactly as `forge train` (text) or `forge prepare`
 * (shards) would: a text is split by characters into train and validation (splitTrainValidation) and
 * each part tokenized; a manifest directory is opened with checksum verification.
 */
import { BUILTIN_TEXT, type RunSpec } from '@llm-forge/cluster-protocol';
import {
  ArrayTokenStream,
  builtinCorpus,
  readText,
  ShardDataset,
  type TokenStream,
} from '@llm-forge/data-shards';
import { createTokenizer, splitTrainValidation } from '@llm-forge/gpt';

/** The train and (optional) validation tokens of a run. */
export interface RunData {
  train: TokenStream;
  validation?: TokenStream;
}

/** Opens a run's data; throws a DataError/ShardError naming the file when it is missing or corrupt. */
export function openRunData(data: RunSpec['data']): RunData {
  if (data.manifest !== undefined) {
    const dataset = ShardDataset.open(data.manifest);
    const validation = dataset.split('validation');
    return { train: dataset.split('train'), validation: validation.length > 0 ? validation : undefined };
  }
  const file = data.text as string;
  const text = file === BUILTIN_TEXT ? builtinCorpus() : readText(file);
  const { train, validation } = splitTrainValidation(text, data.valFraction);
  const tokenizer = createTokenizer();
  return {
    train: new ArrayTokenStream(tokenizer.encode(train)),
    validation: validation ? new ArrayTokenStream(tokenizer.encode(validation)) : undefined,
  };
}

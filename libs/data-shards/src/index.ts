/**
 * @llm-forge/data-shards — a corpus tokenized into binary token shards (llm.c layout) with a
 * manifest and checksums, read back verified, and sampled into deterministic batches for any number
 * of data-parallel workers.
 */
export { ShardError, REPREPARE_HINT } from './lib/errors/shard-error';
export type { ShardProblem } from './lib/errors/shard-error';
export { PrepareError } from './lib/errors/prepare-error';

export {
  SHARD_MAGIC,
  SHARD_VERSION,
  SHARD_HEADER_BYTES,
  TOKEN_BYTES,
  MAX_SHARD_TOKENS,
  shardBytes,
  encodeShardHeader,
  decodeShardHeader,
} from './lib/format/shard-format';
export type { ShardHeader } from './lib/format/shard-format';
export { ShardWriter } from './lib/format/shard-writer';
export type { WrittenShard } from './lib/format/shard-writer';
export { ShardFile } from './lib/format/shard-file';
export type { OpenShardOptions, ShardExpectation } from './lib/format/shard-file';

export {
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  parseManifest,
  readManifest,
  writeManifest,
} from './lib/manifest/manifest';
export type { DatasetManifest, ManifestShard, ManifestTokenizer } from './lib/manifest/manifest';
export { splitTokenStream } from './lib/manifest/train-validation-split';
export type { StreamSplit, TokenRange } from './lib/manifest/train-validation-split';

export { BUILTIN_CORPUS, builtinCorpus, readText } from './lib/sources/builtin-corpus';
export { TEXT_EXTENSIONS, JSONL_EXTENSIONS, resolveInputs } from './lib/sources/input-sources';
export type { PrepareInput, MemoryInput, ResolvedSource } from './lib/sources/input-sources';
export { DEFAULT_CHUNK_CHARS, chunkText, findChunkCut } from './lib/sources/text-chunks';

export { prepareShards } from './lib/prepare/prepare-shards';
export type { PrepareSummary } from './lib/prepare/prepare-shards';
export { DEFAULT_SHARD_TOKENS, DEFAULT_VAL_FRACTION } from './lib/prepare/prepare-options';
export type { PrepareOptions, PrepareProgress } from './lib/prepare/prepare-options';
export { STATE_FILE } from './lib/prepare/prepare-state';

export { ShardDataset } from './lib/dataset/shard-dataset';
export type { OpenDatasetOptions, SplitName } from './lib/dataset/shard-dataset';
export { ArrayTokenStream } from './lib/dataset/token-stream';
export type { TokenStream } from './lib/dataset/token-stream';

export { WindowSampler, countWindows } from './lib/sampling/window-sampler';
export type { WindowSamplerOptions } from './lib/sampling/window-sampler';
export { rankSlice } from './lib/sampling/rank-slice';
export type { RankSlice } from './lib/sampling/rank-slice';
export { checkDataPosition } from './lib/sampling/data-position';
export type { DataPosition } from './lib/sampling/data-position';
export { DistributedBatchLoader } from './lib/sampling/distributed-batch-loader';
export type { DistributedBatchLoaderOptions } from './lib/sampling/distributed-batch-loader';

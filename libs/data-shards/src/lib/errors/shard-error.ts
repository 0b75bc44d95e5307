import { ForgeError } from '@llm-forge/gpt';

/** What is wrong with a file of a prepared dataset. */
export type ShardProblem = 'missing' | 'header' | 'size' | 'checksum' | 'manifest' | 'incomplete';

/** The hint every shard error carries: the dataset is rebuilt (or finished) by preparing it again. */
export const REPREPARE_HINT = 're-run `forge prepare` with the same --input and --out to rewrite it';

/**
 * A shard or manifest of a prepared dataset that is missing, truncated, corrupt or of a foreign
 * format. The message names the file and the problem; the hint says what to do.
 */
export class ShardError extends ForgeError {
  constructor(
    /** The file at fault (a shard, `manifest.json` or the dataset folder). */
    readonly file: string,
    /** The kind of problem, for callers that react differently (e.g. `prepare` rewrites bad shards). */
    readonly problem: ShardProblem,
    detail: string,
    hint: string = REPREPARE_HINT,
  ) {
    super(`${file}: ${detail}`, hint);
    this.name = 'ShardError';
  }
}

/**
 * The byte layout of a token shard, llm.c's (`dev/data/data_common.py`, `llmc/dataloader.h`), so
 * llm.c reads our shards as they are:
 *
 * ```
 * offset  size          field
 * 0       4             magic, int32 LE = 20240520
 * 4       4             version, int32 LE = 1 (uint16 tokens)
 * 8       4             token count n, int32 LE
 * 12      4             dtype, int32 LE = bytes per token: 2 (uint16)
 * 16      4             vocabulary size, int32 LE (50257 for GPT-2)
 * 20      4             end-of-text token id, int32 LE (50256)
 * 24      1000          zero
 * 1024    2·n           tokens, uint16 LE
 * ```
 *
 * llm.c reads words 0–2 only; words 3–5 are ours and checked on open. A file's size must be
 * exactly 1024 + 2·n.
 */
import { ShardError } from '../errors/shard-error';

/** First header word of every shard (llm.c's magic). */
export const SHARD_MAGIC = 20240520;
/** Header version written and accepted: 1 = uint16 tokens (llm.c's meaning too). */
export const SHARD_VERSION = 1;
/** Header size in bytes: 256 little-endian int32 words. */
export const SHARD_HEADER_BYTES = 1024;
/** Bytes per token of the only dtype written, uint16 (GPT-2's 50,257 ids fit). */
export const TOKEN_BYTES = 2;
/** Largest token count one shard may hold (an int32 count, and a file under 2 GiB). */
export const MAX_SHARD_TOKENS = 1_000_000_000;

/** The decoded header of a shard. */
export interface ShardHeader {
  /** Always {@link SHARD_VERSION}. */
  version: number;
  /** n: tokens in the shard. */
  tokens: number;
  /** Always `uint16`. */
  dtype: 'uint16';
  /** Vocabulary size of the tokenizer that wrote the shard. */
  vocabSize: number;
  /** Id of the end-of-text token that separates documents. */
  endOfTextId: number;
}

/** Size in bytes of a shard holding `tokens` tokens. */
export function shardBytes(tokens: number): number {
  return SHARD_HEADER_BYTES + TOKEN_BYTES * tokens;
}

/** Encodes a header into its 1024 bytes. */
export function encodeShardHeader(header: Omit<ShardHeader, 'version' | 'dtype'>): Buffer {
  const bytes = Buffer.alloc(SHARD_HEADER_BYTES);
  bytes.writeInt32LE(SHARD_MAGIC, 0);
  bytes.writeInt32LE(SHARD_VERSION, 4);
  bytes.writeInt32LE(header.tokens, 8);
  bytes.writeInt32LE(TOKEN_BYTES, 12);
  bytes.writeInt32LE(header.vocabSize, 16);
  bytes.writeInt32LE(header.endOfTextId, 20);
  return bytes;
}

/**
 * Decodes and checks a header. `file` names the shard in errors; `fileBytes`, when given, must
 * equal the size the header implies. Throws a {@link ShardError} naming what is wrong.
 */
export function decodeShardHeader(bytes: Uint8Array, file: string, fileBytes?: number): ShardHeader {
  if (bytes.byteLength < SHARD_HEADER_BYTES) {
    throw new ShardError(
      file,
      'size',
      `truncated: ${bytes.byteLength} bytes, shorter than the ${SHARD_HEADER_BYTES}-byte shard header`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, SHARD_HEADER_BYTES);
  const word = (i: number) => view.getInt32(4 * i, true);
  if (word(0) !== SHARD_MAGIC) {
    throw new ShardError(file, 'header', `not a token shard: magic ${word(0)}, expected ${SHARD_MAGIC}`);
  }
  if (word(1) !== SHARD_VERSION) {
    throw new ShardError(file, 'header', `unsupported shard version ${word(1)}, expected ${SHARD_VERSION}`);
  }
  if (word(3) !== TOKEN_BYTES) {
    throw new ShardError(
      file,
      'header',
      `unsupported dtype: ${word(3)} bytes per token, expected 2 (uint16)`,
    );
  }
  const tokens = word(2);
  if (tokens < 0) throw new ShardError(file, 'header', `negative token count ${tokens} in the header`);
  const vocabSize = word(4);
  if (vocabSize < 1 || vocabSize > 65536) {
    throw new ShardError(file, 'header', `vocabulary size ${vocabSize} does not fit uint16 tokens`);
  }
  if (fileBytes !== undefined && fileBytes !== shardBytes(tokens)) {
    throw new ShardError(
      file,
      'size',
      `${fileBytes < shardBytes(tokens) ? 'truncated' : 'too long'}: ${fileBytes} bytes, but its header ` +
        `says ${tokens} tokens (${shardBytes(tokens)} bytes)`,
    );
  }
  return { version: SHARD_VERSION, tokens, dtype: 'uint16', vocabSize, endOfTextId: word(5) };
}

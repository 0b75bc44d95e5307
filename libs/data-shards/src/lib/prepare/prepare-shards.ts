/**
 * `prepare`: a corpus → GPT-2 token shards + `manifest.json`.
 *
 * Sources are streamed as bounded chunks (see `document-chunks.ts`); chunks are tokenized by a pool
 * of worker threads and their tokens taken back in submission order, so the token stream is the
 * same for any number of threads; tokens fill shards of `shardTokens` tokens, each written
 * atomically and recorded in `prepare-state.json` with the cursor just past it. A rerun keeps the
 * verified shards and continues at that cursor. Finally the stream is split (tail tokens) and the
 * manifest written.
 */
import * as fs from 'fs';
import * as path from 'path';
import { END_OF_TEXT_ID, GPT2_VOCAB_SIZE } from '@llm-forge/gpt';
import { PrepareError } from '../errors/prepare-error';
import { SHARD_HEADER_BYTES } from '../format/shard-format';
import { ShardWriter } from '../format/shard-writer';
import {
  type DatasetManifest,
  type ManifestShard,
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  writeManifest,
} from '../manifest/manifest';
import { splitTokenStream } from '../manifest/train-validation-split';
import { type ChunkCursor, type DocumentChunk, documentChunks } from '../sources/document-chunks';
import { resolveInputs, type ResolvedSource, sourceFingerprint } from '../sources/input-sources';
import { createChunkEncoder } from '../tokenize/chunk-encoder';
import { openDatasetFolder, shardFileName } from './dataset-folder';
import { type PrepareOptions, resolvePrepareOptions, type ResolvedPrepareOptions } from './prepare-options';
import {
  type PrepareState,
  type RunFingerprint,
  STATE_FILE,
  type TokenCursor,
  writeState,
} from './prepare-state';

/** What a run did. */
export interface PrepareSummary {
  /** The dataset folder. */
  outDir: string;
  /** The manifest written. */
  manifest: DatasetManifest;
  /** Shards kept from an interrupted earlier run (verified, not rewritten). */
  resumedShards: number;
  /** Why shards of an earlier run were dropped and rewritten, one line each. */
  droppedShards: string[];
  /** Tokens tokenized by this run. */
  newTokens: number;
  /** Wall time of this run in seconds. */
  seconds: number;
  /** newTokens / seconds. */
  tokensPerSecond: number;
  /** Worker threads used. */
  threads: number;
}

function describeInputs(o: ResolvedPrepareOptions): string {
  const names = o.inputs.map((input) => (typeof input === 'string' ? input : input.name));
  return names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ');
}

function sameChunk(a: ChunkCursor, b: ChunkCursor): boolean {
  return a.source === b.source && a.item === b.item && a.chunk === b.chunk && a.documents === b.documents;
}

function cursorOf(chunk: DocumentChunk, offset: number): TokenCursor {
  return { source: chunk.source, item: chunk.item, chunk: chunk.chunk, documents: chunk.documents, offset };
}

/** Tokenizes what the state does not cover yet, appending shards to it; returns the tokens written. */
async function tokenizeRest(
  o: ResolvedPrepareOptions,
  sources: readonly ResolvedSource[],
  state: PrepareState,
): Promise<number> {
  const dir = o.outDir;
  const last = state.shards[state.shards.length - 1];
  const from = last?.next;
  let streamTokens = last ? last.start + last.tokens : 0;
  let newTokens = 0;
  let drop = from?.offset ?? 0;
  let writer: ShardWriter | undefined;
  let lastChunk: DocumentChunk | undefined;
  let lastLength = 0;
  const bytesTotal = sources.reduce((sum, s) => sum + s.bytes, 0);
  let bytesDone = sources.slice(0, from?.source ?? 0).reduce((sum, s) => sum + s.bytes, 0);

  const finishShard = (next: TokenCursor) => {
    const written = (writer as ShardWriter).finish();
    writer = undefined;
    const shard = { ...written, start: streamTokens };
    state.shards.push({ ...shard, next });
    streamTokens += written.tokens;
    writeState(dir, state);
    o.onShard?.(shard);
  };

  const consume = (chunk: DocumentChunk, tokens: Uint16Array) => {
    let offset = 0;
    if (from && !lastChunk) {
      if (!sameChunk(chunk, from) || drop > tokens.length) {
        throw new PrepareError(
          'the inputs changed since the interrupted run',
          'delete the output folder to start over',
        );
      }
      offset = drop;
      drop = 0;
    }
    while (offset < tokens.length) {
      writer ??= new ShardWriter(
        path.join(dir, shardFileName(state.shards.length)),
        GPT2_VOCAB_SIZE,
        END_OF_TEXT_ID,
      );
      const take = Math.min(o.shardTokens - writer.tokens, tokens.length - offset);
      writer.append(tokens.subarray(offset, offset + take));
      offset += take;
      newTokens += take;
      if (writer.tokens === o.shardTokens) finishShard(cursorOf(chunk, offset));
    }
    lastChunk = chunk;
    lastLength = tokens.length;
    bytesDone += chunk.bytes;
    o.onProgress?.({
      bytesDone,
      bytesTotal,
      tokens: streamTokens + (writer?.tokens ?? 0),
      newTokens,
      shards: state.shards.length,
    });
  };

  const encoder = createChunkEncoder(o.threads);
  const inFlight: Array<{ chunk: DocumentChunk; tokens: Promise<Uint16Array> }> = [];
  const maxInFlight = Math.max(2, 4 * encoder.threads);
  const interrupted = () =>
    new PrepareError(
      `prepare was interrupted; ${state.shards.length} finished shards are kept in ${dir}`,
      're-run the same command to continue',
    );
  try {
    for await (const chunk of documentChunks(sources, o.chunkChars, from)) {
      const tokens = encoder.encode(chunk.text, chunk.separatorFirst);
      tokens.catch(() => undefined); // awaited below, in order; this only silences an early rejection
      inFlight.push({ chunk, tokens });
      if (inFlight.length >= maxInFlight) {
        const next = inFlight.shift() as (typeof inFlight)[number];
        consume(next.chunk, await next.tokens);
      }
      if (o.signal?.aborted) throw interrupted();
    }
    for (let next = inFlight.shift(); next; next = inFlight.shift()) {
      consume(next.chunk, await next.tokens);
      if (o.signal?.aborted) throw interrupted();
    }
    if (writer && writer.tokens > 0) finishShard(cursorOf(lastChunk as DocumentChunk, lastLength));
  } finally {
    writer?.abort();
    await encoder.close();
  }
  if (streamTokens === 0) {
    throw new PrepareError(
      `no text found in the inputs (${describeInputs(o)})`,
      'the files are empty or hold only whitespace',
    );
  }
  state.complete = true;
  state.documents = lastChunk ? lastChunk.documents + 1 : state.documents;
  writeState(dir, state);
  return newTokens;
}

function manifestOf(state: PrepareState, o: ResolvedPrepareOptions): DatasetManifest {
  const shards: ManifestShard[] = state.shards.map(({ file, tokens, bytes, sha256, start }) => ({
    file,
    tokens,
    bytes,
    sha256,
    start,
  }));
  const total = shards.reduce((sum, s) => sum + s.tokens, 0);
  return {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    tokenizer: { name: 'gpt2', vocab_size: GPT2_VOCAB_SIZE, eot_token: END_OF_TEXT_ID },
    dtype: 'uint16',
    header_bytes: SHARD_HEADER_BYTES,
    shard_tokens: o.shardTokens,
    total_tokens: total,
    documents: state.documents,
    inputs: o.inputs.map((input) => (typeof input === 'string' ? input : input.name)),
    shards,
    split: splitTokenStream(total, o.valFraction),
  };
}

/** Undoes a run that wrote no shard: its state file, and the folder when the run created it. */
function removeEmptyRun(dir: string, created: boolean): void {
  fs.rmSync(path.join(dir, STATE_FILE), { force: true });
  if (created && fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
}

/**
 * Tokenizes the inputs into shards in `outDir` and writes `manifest.json`; continues an interrupted
 * run with the same inputs and options. Throws a PrepareError for bad inputs or options, or when
 * interrupted through `signal`.
 */
export async function prepareShards(options: PrepareOptions): Promise<PrepareSummary> {
  const started = performance.now();
  const o = resolvePrepareOptions(options);
  const sources = resolveInputs(o.inputs);
  const fingerprint: RunFingerprint = {
    tokenizer: 'gpt2',
    shard_tokens: o.shardTokens,
    chunk_chars: o.chunkChars,
    sources: sources.map(sourceFingerprint),
  };
  const created = !fs.existsSync(o.outDir);
  const { state, kept, dropped } = openDatasetFolder(o.outDir, fingerprint, o.verifyExisting);
  const tokenize = !state.complete;
  let newTokens = 0;
  try {
    if (tokenize) newTokens = await tokenizeRest(o, sources, state);
  } catch (error) {
    if (state.shards.length === 0) removeEmptyRun(o.outDir, created);
    throw error;
  }
  const manifest = manifestOf(state, o);
  writeManifest(o.outDir, manifest);
  const seconds = (performance.now() - started) / 1000;
  return {
    outDir: o.outDir,
    manifest,
    resumedShards: kept,
    droppedShards: dropped,
    newTokens,
    seconds,
    tokensPerSecond: seconds > 0 ? newTokens / seconds : 0,
    threads: tokenize ? o.threads : 0,
  };
}

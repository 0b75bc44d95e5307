/**
 * The corpus as one ordered stream of bounded text chunks: every source in turn, every document of
 * a source in turn, every document cut by {@link TextChunker}. Files are streamed (text files in
 * 1 MiB blocks, JSONL line by line), so memory holds a few chunks, never the corpus.
 *
 * A position in the stream is a {@link ChunkCursor}; the stream can start at one, skipping what is
 * before it without tokenizing (a resumed `prepare`). Documents without any non-whitespace text
 * are skipped (when they fit in one chunk, i.e. all realistic ones).
 */
import * as fs from 'fs';
import * as readline from 'readline';
import { StringDecoder } from 'string_decoder';
import { PrepareError } from '../errors/prepare-error';
import type { ResolvedSource } from './input-sources';
import { chunkText, TextChunker } from './text-chunks';

/** Where a chunk is in the stream. Plain JSON, stored with every finished shard. */
export interface ChunkCursor {
  /** Index of the source. */
  source: number;
  /** Document within the source: the line of a JSONL file, the index of an in-memory document, 0 for a text file. */
  item: number;
  /** Chunk within the document. */
  chunk: number;
  /** Non-empty documents before this document in the whole stream. */
  documents: number;
}

/** One chunk of one document. */
export interface DocumentChunk extends ChunkCursor {
  /** The text. */
  text: string;
  /** True for the first chunk of every document but the first: its tokens start with `<|endoftext|>`. */
  separatorFirst: boolean;
  /** Input bytes this chunk accounts for, for progress. */
  bytes: number;
}

const READ_BLOCK_BYTES = 1 << 20;
const BOM = '\ufeff';

async function* textFileChunks(file: string, chunkChars: number): AsyncIterableIterator<string> {
  const decoder = new StringDecoder('utf8');
  const chunker = new TextChunker(chunkChars);
  let first = true;
  for await (const block of fs.createReadStream(file, { highWaterMark: READ_BLOCK_BYTES })) {
    let text = decoder.write(block as Buffer);
    if (first && text.length > 0) {
      if (text.startsWith(BOM)) text = text.slice(1);
      first = false;
    }
    yield* chunker.push(text);
  }
  yield* chunker.push(decoder.end());
  yield* chunker.end();
}

function jsonlText(line: string, file: string, lineNo: number): string {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch (error) {
    throw new PrepareError(
      `${file}:${lineNo}: not valid JSON (${(error as Error).message})`,
      'every line of a .jsonl file must be one JSON object',
    );
  }
  const text =
    record !== null && typeof record === 'object' ? (record as Record<string, unknown>).text : undefined;
  if (typeof text !== 'string') {
    throw new PrepareError(
      `${file}:${lineNo}: no string "text" field`,
      'each line must look like {"text": "..."}',
    );
  }
  return text;
}

/**
 * The documents of one source as (item, chunks, bytes), starting at item `fromItem`. `bytes` is the
 * input size of a JSONL line; without it each chunk counts its own UTF-8 size.
 */
async function* sourceDocuments(
  source: ResolvedSource,
  fromItem: number,
  chunkChars: number,
): AsyncIterableIterator<{ item: number; chunks: AsyncIterable<string> | Iterable<string>; bytes?: number }> {
  if (source.kind === 'text') {
    if (fromItem === 0) yield { item: 0, chunks: textFileChunks(source.path, chunkChars) };
    return;
  }
  if (source.kind === 'memory') {
    for (let item = fromItem; item < source.documents.length; item++) {
      yield { item, chunks: chunkText(source.documents[item], chunkChars) };
    }
    return;
  }
  const input = fs.createReadStream(source.path, { encoding: 'utf8', highWaterMark: READ_BLOCK_BYTES });
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  try {
    let item = 0;
    for await (const raw of lines) {
      const line = item === 0 && raw.startsWith(BOM) ? raw.slice(1) : raw;
      if (item >= fromItem && line.trim() !== '') {
        const text = jsonlText(line, source.name, item + 1);
        yield { item, chunks: chunkText(text, chunkChars), bytes: Buffer.byteLength(raw) + 1 };
      }
      item++;
    }
  } finally {
    lines.close();
    input.destroy();
  }
}

/**
 * The chunk stream from `from` (the beginning when omitted). Chunks before `from.chunk` of the
 * cursor's document are read but not yielded.
 */
export async function* documentChunks(
  sources: readonly ResolvedSource[],
  chunkChars: number,
  from: ChunkCursor = { source: 0, item: 0, chunk: 0, documents: 0 },
): AsyncIterableIterator<DocumentChunk> {
  let documents = from.documents;
  for (let source = from.source; source < sources.length; source++) {
    const fromItem = source === from.source ? from.item : 0;
    for await (const doc of sourceDocuments(sources[source], fromItem, chunkChars)) {
      const skip = source === from.source && doc.item === from.item ? from.chunk : 0;
      const iterator = (async function* () {
        yield* doc.chunks;
      })();
      try {
        let chunk = 0;
        let next = await iterator.next();
        // One chunk of lookahead decides whether a document is only whitespace.
        let after = next.done ? next : await iterator.next();
        if (next.done || (after.done && skip === 0 && next.value.trim() === '')) continue;
        while (!next.done) {
          if (chunk >= skip) {
            const text = next.value;
            const bytes = doc.bytes === undefined ? Buffer.byteLength(text) : chunk === 0 ? doc.bytes : 0;
            yield {
              source,
              item: doc.item,
              chunk,
              documents,
              text,
              separatorFirst: chunk === 0 && documents > 0,
              bytes,
            };
          }
          chunk++;
          next = after;
          if (!after.done) after = await iterator.next();
        }
      } finally {
        await iterator.return(undefined);
      }
      documents++;
    }
  }
}

/**
 * Cutting long documents into bounded chunks so the tokenizer never sees a gigantic string — at
 * places where the cut cannot change the tokens.
 *
 * GPT-2's pre-tokenizer splits text with the regex
 * `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` and BPE merges only
 * inside a piece. No alternative matches a non-space followed by a space, so a position p with a
 * non-whitespace character before it and a whitespace character at it is always a piece boundary,
 * and encoding the text in pieces cut there gives exactly the tokens of the whole. Cuts prefer a
 * paragraph break (`\n\n`), then a line break, then any space. A chunk with no such place (a
 * `chunkChars`-long run without whitespace) is cut hard, between code points; only there may the
 * tokens differ from encoding the whole document at once.
 */

/** Default chunk length in UTF-16 code units (~16k tokens of English). */
export const DEFAULT_CHUNK_CHARS = 65536;

/**
 * Whether a UTF-16 code unit is whitespace to the pre-tokenizer's `\s` (ECMAScript WhiteSpace and
 * LineTerminator), tested by code for speed; the spec checks it against the regex for every unit.
 */
export function isSpaceCode(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

function isSafeCut(text: string, p: number): boolean {
  return p > 0 && p < text.length && isSpaceCode(text.charCodeAt(p)) && !isSpaceCode(text.charCodeAt(p - 1));
}

/** How far past a cut {@link findChunkCut} looks (to tell a paragraph break from a line break). */
const LOOKAHEAD = 8;

/** Line breaks at the start of the whitespace run at p (looking at most LOOKAHEAD units ahead). */
function leadingNewlines(text: string, p: number): number {
  let n = 0;
  for (let i = p; i < Math.min(text.length, p + LOOKAHEAD) && isSpaceCode(text.charCodeAt(i)); i++) {
    if (text.charCodeAt(i) === 0x0a) n++;
  }
  return n;
}

/**
 * The position at which to cut `text` into a chunk of at most `maxChars` code units, for
 * `text.length > maxChars`: the last paragraph break (a space run with two line breaks) in the
 * second half of the window, else the last line break there, else the last safe cut anywhere,
 * else a hard cut at `maxChars` (one unit earlier when it would split a surrogate pair).
 */
export function findChunkCut(text: string, maxChars: number): number {
  const limit = Math.min(maxChars, text.length - 1);
  const half = Math.ceil(limit / 2);
  let line = 0;
  let any = 0;
  for (let p = limit; p > 0 && (p >= half || any === 0); p--) {
    if (!isSafeCut(text, p)) continue;
    if (any === 0) any = p;
    if (p < half) continue;
    const newlines = leadingNewlines(text, p);
    if (newlines >= 2) return p;
    if (newlines === 1 && line === 0) line = p;
  }
  if (line > 0) return line;
  if (any > 0) return any;
  const code = text.charCodeAt(maxChars - 1);
  return code >= 0xd800 && code <= 0xdbff ? maxChars - 1 : maxChars;
}

/** Splits a whole document into chunks of at most `maxChars` code units (see {@link findChunkCut}). */
export function* chunkText(text: string, maxChars: number = DEFAULT_CHUNK_CHARS): IterableIterator<string> {
  let rest = text;
  while (rest.length > maxChars) {
    const cut = findChunkCut(rest, maxChars);
    yield rest.slice(0, cut);
    rest = rest.slice(cut);
  }
  if (rest.length > 0) yield rest;
}

/**
 * Chunks text that arrives in pieces (a file read in blocks): {@link TextChunker.push} returns the
 * chunks that are complete, {@link TextChunker.end} the rest. The chunks are exactly those
 * {@link chunkText} gives for the concatenated text.
 */
export class TextChunker {
  private buffer = '';

  constructor(private readonly maxChars: number = DEFAULT_CHUNK_CHARS) {}

  /** Adds text; returns the chunks that no later text can change. */
  push(text: string): string[] {
    this.buffer += text;
    // A cut looks a few characters past itself: cut only while those are buffered too.
    return this.cut(this.maxChars + LOOKAHEAD);
  }

  /** The last chunks (none when the text was empty). */
  end(): string[] {
    const out = this.cut(this.maxChars);
    if (this.buffer.length > 0) out.push(this.buffer);
    this.buffer = '';
    return out;
  }

  private cut(keep: number): string[] {
    const out: string[] = [];
    while (this.buffer.length > keep) {
      const cut = findChunkCut(this.buffer, this.maxChars);
      out.push(this.buffer.slice(0, cut));
      this.buffer = this.buffer.slice(cut);
    }
    return out;
  }
}

/**
 * Finds where JSON text first breaks the grammar. V8's JSON.parse reports a position for some
 * errors only ("Unexpected token 'o', ... is not valid JSON" has none), and a user needs the line.
 */

const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const LITERAL = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;

/** Offset of the first character that makes `text` invalid JSON, or -1 when it is valid. */
export function jsonSyntaxErrorOffset(text: string): number {
  let i = 0;
  const fail = (): never => {
    throw new SyntaxAt(i);
  };
  const skipSpace = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const token = (pattern: RegExp) => {
    pattern.lastIndex = i;
    if (!pattern.test(text)) fail();
    i = pattern.lastIndex;
  };
  /** `open` items `close`, items separated by commas: `[1, 2]` or `{"a": 1}`. */
  const sequence = (close: string, item: () => void) => {
    i++;
    skipSpace();
    if (text[i] === close) return void i++;
    for (;;) {
      item();
      skipSpace();
      if (text[i] === close) return void i++;
      if (text[i] !== ',') fail();
      i++;
    }
  };
  const value = (): void => {
    skipSpace();
    if (text[i] === '[') return sequence(']', value);
    if (text[i] === '{') {
      return sequence('}', () => {
        skipSpace();
        token(STRING);
        skipSpace();
        if (text[i] !== ':') fail();
        i++;
        value();
      });
    }
    token(text[i] === '"' ? STRING : LITERAL);
  };
  try {
    value();
    skipSpace();
    if (i < text.length) fail();
    return -1;
  } catch (error) {
    if (error instanceof SyntaxAt) return error.offset;
    throw error;
  }
}

class SyntaxAt {
  constructor(readonly offset: number) {}
}

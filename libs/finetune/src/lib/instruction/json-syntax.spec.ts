import { jsonSyntaxErrorOffset } from './json-syntax';

describe('jsonSyntaxErrorOffset', () => {
  it.each([
    ['[1, {"a": [true, false, null, -1.5e3, "x\\n\\u00e9"]}]', -1],
    ['  {"a": {}} ', -1],
    ['[1,\n oops]', 5],
    ['[1,]', 3],
    ['{"a":1', 6],
    ['["a" "b"]', 5],
    ['[1]x', 3],
    ['{"a" 1}', 5],
    ['{a: 1}', 1],
    ['["tab\there"]', 1],
    ['[01]', 2],
    ['', 0],
  ])('%j -> %p', (text, offset) => {
    expect(jsonSyntaxErrorOffset(text)).toBe(offset);
    // The scanner agrees with JSON.parse on what is valid.
    expect(offset === -1).toBe((() => { try { JSON.parse(text); return true; } catch { return false; } })()); // prettier-ignore
  });
});

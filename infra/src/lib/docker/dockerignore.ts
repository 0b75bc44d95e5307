/**
 * A .dockerignore as Docker applies it: patterns relative to the context root with `*`, `?` and
 * `**`; `!pattern` re-includes; the last matching line wins; a path is also excluded when one of
 * its parent directories is.
 */
export function dockerignoreMatcher(text: string): (relativePath: string) => boolean {
  const rules = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const pattern = (negate ? line.slice(1) : line).replace(/^\/+/, '').replace(/\/+$/, '');
      return { negate, regex: globToRegex(pattern) };
    });
  const matches = (p: string) => {
    let excluded = false;
    for (const rule of rules) if (rule.regex.test(p)) excluded = !rule.negate;
    return excluded;
  };
  return (relativePath) => {
    const parts = relativePath.replace(/^\.?\/+/, '').split('/');
    return parts.some((_, i) => matches(parts.slice(0, i + 1).join('/')));
  };
}

function globToRegex(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') {
      // `**/` matches any number of directories, including none.
      out += pattern[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += pattern[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

// Redis's glob patterns (SCAN MATCH, KEYS) evaluated on our side: which of several patterns a key belongs to, so a
// key matched by two patterns (Echo's `global:echo:seen:*` also matches `*:echo:seen:*`) is handled exactly once.

/** Compiles a Redis glob (`*`, `?`, `[abc]`, `[^a-z]`, `\x`) into a matcher over the key's bytes (latin1). */
export function globMatcher(pattern: string): (key: Buffer) => boolean {
  const re = new RegExp(`^${globToRegExpSource(pattern)}$`, 's');
  return (key) => re.test(key.toString('latin1'));
}

function globToRegExpSource(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '\\' && i + 1 < pattern.length) out += escapeRegExp(pattern[++i]!);
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) {
        out += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith('^');
      if (negate) body = body.slice(1);
      out += `[${negate ? '^' : ''}${body.replace(/[\\\]]/g, (m) => `\\${m}`)}]`;
      i = end;
    } else out += escapeRegExp(c);
  }
  return out;
}

function escapeRegExp(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/-]/g, (m) => `\\${m}`);
}

/** Escapes literal text (a key prefix) so SCAN MATCH treats it literally. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (m) => `\\${m}`);
}

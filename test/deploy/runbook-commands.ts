// Reads the commands out of a Markdown runbook: the `kask-migration-proxy …` lines of its shell code blocks.

export interface RunbookCommand {
  line: string;
  argv: string[];
}

/** Splits a command line like a POSIX shell would for these commands: whitespace, '…' and "…" quoting, # comments. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  let quote: "'" | '"' | null = null;
  for (const ch of line) {
    if (quote !== null) {
      if (ch === quote) quote = null;
      else word += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      word ??= '';
    } else if (/\s/.test(ch)) {
      if (word !== null) words.push(word);
      word = null;
    } else if (ch === '#' && word === null) {
      break; // a comment to the end of the line
    } else {
      word = (word ?? '') + ch;
    }
  }
  if (quote !== null) throw new Error(`unterminated quote in: ${line}`);
  if (word !== null) words.push(word);
  return words;
}

/** Every line of a shell code block that runs `kask-migration-proxy` (continuation lines joined). */
export function runbookCommands(markdown: string): RunbookCommand[] {
  const commands: RunbookCommand[] = [];
  const blocks = markdown.matchAll(/^```(?:sh|bash|console|shell)\n([\s\S]*?)^```/gm);
  for (const [, body] of blocks) {
    const lines = body!.replace(/\\\n\s*/g, ' ').split('\n');
    for (const raw of lines) {
      const text = raw.replace(/^\s*\$\s+/, '');
      const words = shellWords(text);
      if (words[0] !== 'kask-migration-proxy') continue;
      // The line as written, prompt and comment dropped, spaces collapsed: what PENDING lists.
      const line = text
        .replace(/\s+#.*$/, '')
        .replace(/\s+/g, ' ')
        .trim();
      commands.push({ line, argv: words.slice(1) });
    }
  }
  return commands;
}

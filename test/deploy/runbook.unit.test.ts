// Every `kask-migration-proxy …` command the runbook tells an SRE to type is one the real CLI accepts
// (Command.check: flags, values, positionals; no network, files or secrets).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/main.js';
import { runbookCommands, shellWords } from './runbook-commands.js';

const RUNBOOK = fileURLToPath(new URL('../../docs/runbook.md', import.meta.url));

function accepted(argv: string[]): { ok: true } | { ok: false; reason: string } {
  const [name, ...rest] = argv;
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) return { ok: false, reason: `no command '${name}'` };
  try {
    command.check(rest);
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

describe('docs/runbook.md', () => {
  const markdown = readFileSync(RUNBOOK, 'utf8');
  const commands = runbookCommands(markdown);

  it('names the commands of every step (serve, phase get/set/status, survey, copy, verify)', () => {
    const verbs = new Set(commands.map((c) => c.argv.slice(0, 2).join(' ')));
    for (const verb of ['serve --config', 'phase get', 'phase set', 'phase status', 'survey --config'])
      expect(verbs, verb).toContain(verb);
    for (const tool of ['copy', 'verify'])
      expect(
        commands.some((c) => c.argv[0] === tool),
        tool,
      ).toBe(true);
    for (const phase of ['migration', 'kask-primary', 'redis-shadow', 'kask-only', 'dual-write'])
      expect(markdown, phase).toContain(`phase set ${phase}`);
  });

  it('every command parses with the real CLI', () => {
    const refused: string[] = [];
    for (const { line, argv } of commands) {
      const verdict = accepted(argv);
      if (!verdict.ok) refused.push(`${line}\n    → ${verdict.reason}`);
    }
    expect(refused, 'runbook commands the CLI refuses').toEqual([]);
  });

  it('the command extraction reads quotes, comments and continuation lines', () => {
    expect(shellWords(`kask-migration-proxy copy --match 'a:*' --x "b c" # note`)).toEqual([
      'kask-migration-proxy',
      'copy',
      '--match',
      'a:*',
      '--x',
      'b c',
    ]);
    const found = runbookCommands('```sh\n$ kask-migration-proxy phase \\\n  get  # here\ncurl x\n```\n');
    expect(found).toEqual([{ line: 'kask-migration-proxy phase get', argv: ['phase', 'get'] }]);
    expect(accepted(['phase', 'set', 'no-such-phase']).ok).toBe(false);
  });

  it('spells out the MediaWiki settings and the TTL rule', () => {
    for (const needle of [
      "$wgObjectCaches['kask-echoseen']",
      "'class' => 'RESTBagOStuff'",
      "'writeMethod' => 'POST'",
      "'content-type' => 'application/octet-stream'",
      "'serialization_type' => 'JSON'",
      "'hmac_key'",
      "$wgEchoSeenTimeCacheType = 'kask-echoseen'",
      "Kask's `default_ttl` must equal the sidecar's `redis.ttl_seconds`",
    ])
      expect(markdown).toContain(needle);
    // Every step has a rollback.
    const steps = markdown.split(/^## \d+\. /m).slice(1);
    expect(steps.length).toBe(12);
    for (const step of steps) expect(step, step.split('\n')[0]).toMatch(/\*\*Roll back:\*\*/);
  });
});

// Every `kask-migration-proxy …` command the runbook tells an SRE to type is one the real CLI accepts
// (Command.check: flags, values, positionals; no network, files or secrets). Commands of tools that are not on this
// branch yet are listed in PENDING: each must still be refused, so the list cannot go stale unnoticed.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/main.js';
import { runbookCommands, shellWords } from './runbook-commands.js';

const RUNBOOK = fileURLToPath(new URL('../../docs/runbook.md', import.meta.url));

/**
 * Runbook commands the CLI cannot accept yet (none today; a step written before its command lands goes here). Remove each line as its command lands; the test then checks it like the others.
 */
const PENDING: readonly string[] = [];

/** The flags the pending commands are specified with; a pending command may use no other. Goes with PENDING. */
const PLANNED_FLAGS: Record<string, readonly string[]> = {
  copy: [
    '--config',
    '--redis-url',
    '--kask-url',
    '--match',
    '--all-keys',
    '--concurrency',
    '--rate',
    '--min-ttl',
    '--since',
    '--dry-run',
    '--checkpoint-dir',
    '--resume',
    '--shard',
    '--json',
    '--metrics-listen',
  ],
  survey: ['--config', '--redis-url', '--match', '--sample', '--rate', '--json'],
  verify: ['--config', '--redis-url', '--kask-url', '--match', '--sample', '--repair', '--json'],
  phase: ['--fleet', '--force', '--admin-url', '--token-file'],
};

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
    for (const phase of ['migration', 'kask-primary', 'kask-only', 'dual-write'])
      expect(markdown, phase).toContain(`phase set ${phase}`);
  });

  it('every command parses with the real CLI (pending ones are still refused)', () => {
    const refused: string[] = [];
    const nowAccepted: string[] = [];
    for (const { line, argv } of commands) {
      const verdict = accepted(argv);
      if (PENDING.includes(line)) {
        if (verdict.ok) nowAccepted.push(line);
      } else if (!verdict.ok) refused.push(`${line}\n    → ${verdict.reason}`);
    }
    expect(refused, 'runbook commands the CLI refuses').toEqual([]);
    expect(nowAccepted, 'these are accepted now: remove them from PENDING').toEqual([]);
  });

  it('every pending command is still in the runbook, and uses only the flags its command is specified with', () => {
    const lines = commands.map((c) => c.line);
    for (const line of PENDING) expect(lines, line).toContain(line);
    for (const { line, argv } of commands.filter((c) => PENDING.includes(c.line))) {
      const planned = PLANNED_FLAGS[argv[0]!] ?? [];
      for (const flag of argv.filter((w) => w.startsWith('--'))) expect(planned, line).toContain(flag);
    }
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

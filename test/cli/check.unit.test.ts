// `Command.check` accepts what `run` accepts and refuses the rest, without network, files or secrets.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/command.js';
import { COMMANDS } from '../../src/cli/main.js';

const command = (name: string) => {
  const found = COMMANDS.find((c) => c.name === name);
  if (!found) throw new Error(`no command ${name}`);
  return found;
};

describe('Command.check', () => {
  it.each([
    ['serve', ['--config', '/nonexistent.yaml', '--phase', 'migration']],
    ['phase', ['set', 'migration', '--force', '--token-file', '/nonexistent']],
    ['phase', ['status']],
    ['kask-emulator', ['--listen', '127.0.0.1:0', '--default-ttl', '60']],
    [
      'copy',
      [
        '--config',
        '/nonexistent.yaml',
        '--redis-url',
        'redis://r:6379',
        '--kask-url',
        'http://k/echoseen/v1/',
        '--match',
        'global:echo:seen:*',
        '--match',
        '*:echo:seen:*',
        '--concurrency',
        '64',
        '--rate',
        '5000',
        '--min-ttl',
        '3600',
        '--since',
        '2025-01-01',
        '--dry-run',
        '--checkpoint-dir',
        '/var/lib/kmp',
        '--resume',
        '--shard',
        '3/8',
        '--json',
        '--metrics-listen',
        '0.0.0.0:9102',
      ],
    ],
    ['copy', ['--all-keys']],
    [
      'survey',
      ['--redis-url', 'redis://r:6379', '--match', 'x:*', '--sample', '1000', '--rate', '5000', '--json'],
    ],
    ['verify', ['--kask-url', 'http://k/echoseen/v1/', '--sample', '100', '--repair', '--json']],
  ])('%s %j parses', (name, argv) => {
    expect(() => command(name).check(argv)).not.toThrow();
  });

  it.each([
    ['serve', ['--no-such-flag']],
    ['phase', ['set', 'no-such-phase']],
    ['phase', ['get', '--force']],
    ['kask-emulator', ['--default-ttl', '-1']],
    ['copy', ['--shard', '8/8']],
    ['copy', ['--resume']],
    ['copy', ['--all-keys', '--match', 'x:*']],
    ['copy', ['--concurrency', '0']],
    ['copy', ['--since', 'last year']],
    ['copy', ['--metrics-listen', 'nowhere']],
    ['survey', ['--kask-url', 'http://k/']],
    ['verify', ['--sample', 'many']],
  ])('%s %j is refused with a UsageError', (name, argv) => {
    expect(() => command(name).check(argv)).toThrow(UsageError);
  });
});

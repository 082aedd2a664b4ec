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
  ])('%s %j parses', (name, argv) => {
    expect(() => command(name).check(argv)).not.toThrow();
  });

  it.each([
    ['serve', ['--no-such-flag']],
    ['phase', ['set', 'no-such-phase']],
    ['phase', ['get', '--force']],
    ['kask-emulator', ['--default-ttl', '-1']],
  ])('%s %j is refused with a UsageError', (name, argv) => {
    expect(() => command(name).check(argv)).toThrow(UsageError);
  });
});

// kask-migration-proxy's command line: one file per command, dispatched by name.
import { ConfigError } from '../config/load.js';
import { ListenError } from '../net/listen.js';
import { type Command, UsageError } from './command.js';
import { copyCommand } from './copy.js';
import { kaskEmulatorCommand } from './kask-emulator.js';
import { phaseCommand } from './phase.js';
import { serveCommand } from './serve.js';
import { surveyCommand } from './survey.js';
import { verifyCommand } from './verify.js';

/** Every command, in the order `--help` lists them. */
export const COMMANDS: Command[] = [
  serveCommand,
  phaseCommand,
  copyCommand,
  surveyCommand,
  verifyCommand,
  kaskEmulatorCommand,
];

function overview(): string {
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(14)} ${c.summary}`);
  return `Usage: kask-migration-proxy <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun 'kask-migration-proxy <command> --help' for a command's options.\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(overview());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`kask-migration-proxy: unknown command '${name}'\n\n${overview()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError || err instanceof ListenError) {
      process.stderr.write(`kask-migration-proxy ${command.name}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

// The shape every CLI command has: its own help beside its code, and operator mistakes as UsageError.
import { type ParseArgsConfig, parseArgs } from 'node:util';

export interface Command {
  name: string;
  summary: string;
  /** Full help text: usage line, options, examples. */
  help: string;
  /**
   * Checks an argument list the way `run` would (flags, values, positionals) without touching the network,
   * files or secrets; throws UsageError. Lets tests prove that every command the runbook and the deploy
   * manifests spell out is one the CLI accepts.
   */
  check(argv: string[]): void;
  /** Resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

/** A mistake in how the command was called: printed as one line (no stack), exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs with strict checking, turning its errors into UsageError. */
export function parseCommandArgs<O extends Options>(argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({
      args: argv,
      options: { help: { type: 'boolean', short: 'h' }, ...options },
      allowPositionals,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

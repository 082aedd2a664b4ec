// `kask-emulator`: an in-memory Kask for tests, benchmarks and local development.
import { parseListen } from '../config/reader.js';
import { normaliseBaseUri } from '../config/schema.js';
import { type EmulatorOptions, startEmulator } from '../emulator/emulator.js';
import { type Command, parseCommandArgs, UsageError } from './command.js';
import { untilSignal } from './signals.js';

const HELP = `Usage: kask-migration-proxy kask-emulator [--listen HOST:PORT] [--base-uri PATH] [--default-ttl SECONDS]

An in-memory stand-in for Kask with Kask's HTTP contract (routes, status codes, problem bodies, TTL).

Options:
  --listen HOST:PORT      address to serve on (default 127.0.0.1:8080; port 0 picks a free one)
  --base-uri PATH         Kask's base_uri (default /echoseen/v1/)
  --default-ttl SECONDS   Kask's default_ttl: applied to every write, 0 = never expire (default 86400)
  --fault-control         serve PUT /_emulator/faults to inject latency, errors or hangs (tests only)

Prints one JSON line {"url": ...} once it listens. Stops on SIGTERM/SIGINT.

Example:
  kask-migration-proxy kask-emulator --listen 127.0.0.1:8080 --base-uri /echoseen/v1/ --default-ttl 31536000
`;

export const kaskEmulatorCommand: Command = {
  name: 'kask-emulator',
  summary: 'run an in-memory Kask (for tests and local use)',
  help: HELP,
  check(argv) {
    parse(argv);
  },
  async run(argv) {
    const emulator = await startEmulator(parse(argv));
    process.stdout.write(
      `${JSON.stringify({ message: 'kask emulator listening', url: emulator.url, port: emulator.port })}\n`,
    );
    await untilSignal();
    await emulator.close();
    return 0;
  },
};

function parse(argv: string[]): EmulatorOptions {
  const { values } = parseCommandArgs(argv, {
    listen: { type: 'string', default: '127.0.0.1:8080' },
    'base-uri': { type: 'string', default: '/echoseen/v1/' },
    'default-ttl': { type: 'string', default: '86400' },
    'fault-control': { type: 'boolean', default: false },
  });
  const ttl = Number(values['default-ttl']);
  if (!Number.isSafeInteger(ttl) || ttl < 0)
    throw new UsageError(`--default-ttl must be a whole number ≥ 0, got "${values['default-ttl']}"`);
  const { host, port } = parseListen('--listen', values.listen!);
  return {
    host,
    port,
    baseUri: normaliseBaseUri(values['base-uri']!),
    defaultTtlSeconds: ttl,
    faultControl: values['fault-control']!,
  };
}

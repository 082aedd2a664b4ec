// Set-up of the unit tier (vitest.unit.config.ts): its tests run in memory only. Starting a process, opening a
// socket or listening on a port fails at once, saying so, rather than quietly making the tier slow or dependent on
// what the machine has installed. A test that needs any of them is an ordinary `*.test.ts`, run by `npm test`.
import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';

function refuse(what: string): () => never {
  return () => {
    throw new Error(
      `${what} in the unit tier, which runs in memory only: name the test *.test.ts, not *.unit.test.ts`,
    );
  };
}

// Every asynchronous way to start a process goes through ChildProcess#spawn; the synchronous ones do not.
(childProcess.ChildProcess.prototype as unknown as { spawn: unknown }).spawn = refuse('starting a process');
Object.assign(childProcess, {
  spawnSync: refuse('starting a process'),
  execSync: refuse('starting a process'),
  execFileSync: refuse('starting a process'),
});
// Every client (node:http, undici, ioredis) connects through net.Socket, every server listens through net.Server.
net.Socket.prototype.connect = refuse('opening a socket');
net.Server.prototype.listen = refuse('listening on a port');
// Modules that imported the functions by name see the replacements too.
syncBuiltinESMExports();

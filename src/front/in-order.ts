// Go's server runs a connection's requests one after another; Node starts every pipelined request at once. A
// pipelined data-path request waits for the one before it on the same connection, so effects (not only answers)
// happen in the order sent: a GET pipelined after a DELETE must not find the value.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** On a socket with a data-path request in progress: the requests waiting behind it (empty = none waiting). */
const WAITING = Symbol('kmp.waiting');
type Tracked = Socket & { [WAITING]?: Array<() => void> };

/** Runs `handle` now if the connection is idle, otherwise once the responses before it have been sent. */
export function inConnectionOrder(req: IncomingMessage, res: ServerResponse, handle: () => void): void {
  const socket = req.socket as Tracked;
  const waiting = socket[WAITING];
  if (waiting) {
    waiting.push(() => start(socket, res, handle));
    return;
  }
  socket[WAITING] = [];
  start(socket, res, handle);
}

function start(socket: Tracked, res: ServerResponse, handle: () => void): void {
  res.once('close', () => {
    const next = socket[WAITING]?.shift();
    if (next) next();
    else socket[WAITING] = undefined; // not `delete`: keeps the socket object's shape
  });
  handle();
}

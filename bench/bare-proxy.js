#!/usr/bin/env node
// The floor for a Node proxy on this machine: node:http in front, an undici keep-alive Pool behind, and nothing else
// (no key parsing, no phases, no metrics, no timeouts). bench/run.js measures it next to the sidecar so the sidecar's
// own cost (sidecar − bare) can be told apart from the cost of Node's HTTP stacks (bare − nginx). Reference only:
// it forwards GETs and is not Kask-compatible.
// Usage: node bench/bare-proxy.js PORT UPSTREAM_ORIGIN   (prints {"port": N} once it listens; stops on SIGTERM)
import { createServer } from 'node:http';
import { Pool } from 'undici';

const [port, upstream] = process.argv.slice(2);
const pool = new Pool(upstream, { connections: 64, pipelining: 1, keepAliveTimeout: 4_000 });

const server = createServer(async (req, res) => {
  try {
    const up = await pool.request({ method: 'GET', path: req.url });
    const body = Buffer.from(await up.body.arrayBuffer());
    res.writeHead(up.statusCode, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': body.length,
    });
    res.end(body);
  } catch {
    res.writeHead(502, { 'Content-Length': 0 });
    res.end();
  }
});
server.keepAliveTimeout = 5_000;
server.listen(Number(port), '127.0.0.1', () => {
  process.stdout.write(
    `${JSON.stringify({ message: 'bare proxy listening', port: server.address().port })}\n`,
  );
});
const stop = () => {
  server.close();
  server.closeIdleConnections();
  void pool.close();
};
process.once('SIGTERM', stop).once('SIGINT', stop);

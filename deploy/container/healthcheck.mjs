// The image's HEALTHCHECK: GET /healthz on the address the sidecar listens on, found the way `serve` finds it
// (the config file plus KMP_* environment overrides), so a changed `listen` needs no change here.
// Exit 0 when /healthz answers 200 within the timeout, 1 otherwise (the container runtime's contract).
import { loadConfig } from '../../dist/config/load.js';

const CONFIG_FILE = process.env.KMP_CONFIG_FILE ?? '/etc/kask-migration-proxy/config.yaml';
const TIMEOUT_MS = 2000;

/** A wildcard listen address is reached on loopback of the same family. */
function probeHost(host) {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

try {
  const { listen } = loadConfig(CONFIG_FILE);
  const res = await fetch(`http://${probeHost(listen.host)}:${listen.port}/healthz`, {
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`/healthz answered ${res.status}`);
  process.exit(0);
} catch (err) {
  process.stderr.write(`healthcheck: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}

// `phase get|set|status`: the admin API from the command line, for SREs flipping phases on a host.
import { readFileSync } from 'node:fs';
import { PHASE_NAMES, type PhaseName } from '../config/schema.js';
import { type Command, parseCommandArgs, UsageError } from './command.js';

const HELP = `Usage: kask-migration-proxy phase get    [--admin-url URL] [--token-file FILE]
       kask-migration-proxy phase set NAME [--force] [--admin-url URL] [--token-file FILE]
       kask-migration-proxy phase status [--fleet [--json]] [--admin-url URL] [--token-file FILE]

Reads or changes the phase of a running sidecar through its admin API (admin.listen). The change takes effect
for new requests at once; requests already running finish under the phase they started in. It is not written
to the config file: a SIGHUP or restart brings back the file's phase, so change the file too.

  get      print the phase in force
  set NAME switch to NAME, one rung of the ladder at a time:
           dual-write → migration → kask-primary → redis-shadow → kask-only
  status   print the admin API's /status JSON (phase, breakers, copy completion marker, repair queue)
  status --fleet
           list every live sidecar of the fleet with its phase (from the registry in Redis)

The guard refuses a change that would put two phases that are not neighbours on the ladder in the fleet at
once, leaving the phases that read Redis before the bulk copy recorded completion, kask-only while keys wait
for repair, and going back to a phase that trusts Redis once any host has run kask-only. The refusal says why.

Options:
  --force            skip the guard (users may see lost or resurrected seen-times: read docs/runbook.md first)
  --fleet            with status: the fleet view instead of this sidecar's status
  --json             with status --fleet: print the registry's JSON instead of a table
  --admin-url URL    the admin API (default: $KMP_ADMIN_URL or http://127.0.0.1:8091)
  --token-file FILE  file holding the admin bearer token (default: $KMP_ADMIN_TOKEN_FILE, or $KMP_ADMIN_TOKEN)

Exit status: 0 done, 1 refused or failed (the reason is printed), 2 usage error.

Examples:
  kask-migration-proxy phase get
  kask-migration-proxy phase set migration --token-file /etc/kask-migration-proxy/admin-token
  kask-migration-proxy phase set kask-primary         # refused unless the bulk copy recorded completion
  kask-migration-proxy phase status --fleet
  kask-migration-proxy phase set kask-only --force    # enter anyway (users may lose unseen state)
`;

const DEFAULT_ADMIN_URL = 'http://127.0.0.1:8091';
const TIMEOUT_MS = 15_000;

/** An answer that is not a success: printed as one line, exit code 1. */
class Refusal extends Error {
  override readonly name = 'Refusal';
}

/** The `phase` command. */
export const phaseCommand: Command = {
  name: 'phase',
  summary: 'get or set the phase of a running sidecar (admin API)',
  help: HELP,
  check(argv) {
    parse(argv);
  },
  async run(argv) {
    const { values, run } = parse(argv);
    const call = {
      url: (values['admin-url'] ?? process.env.KMP_ADMIN_URL ?? DEFAULT_ADMIN_URL).replace(/\/+$/, ''),
      token: readToken(values['token-file']),
    };
    try {
      process.stdout.write(await run(call));
      return 0;
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      process.stderr.write(`kask-migration-proxy phase: ${err.message}\n`);
      return 1;
    }
  },
};

function parse(argv: string[]) {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      force: { type: 'boolean' },
      fleet: { type: 'boolean' },
      json: { type: 'boolean' },
      'admin-url': { type: 'string' },
      'token-file': { type: 'string' },
    },
    true,
  );
  const [action, name, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  const view = { fleet: values.fleet === true, json: values.json === true };
  return { values, run: plan(action, name, values.force === true, view) };
}

interface AdminCall {
  url: string;
  token: string;
}

/** Checks the arguments (before any token or network is needed) and returns what to do. */
function plan(
  action: string | undefined,
  name: string | undefined,
  force: boolean,
  view: { fleet: boolean; json: boolean },
): (call: AdminCall) => Promise<string> {
  if (view.fleet && action !== 'status') throw new UsageError('--fleet only goes with status');
  if (view.json && !view.fleet) throw new UsageError('--json only goes with status --fleet');
  if (action === 'set') {
    const phase = parsePhase(name);
    return (call) => setPhase(phase, force, call);
  }
  if (action === undefined) throw new UsageError('missing get, set or status');
  if (action !== 'get' && action !== 'status') throw new UsageError(`unknown action '${action}'`);
  if (name !== undefined) throw new UsageError(`unexpected argument '${name}'`);
  if (force) throw new UsageError('--force only goes with set');
  if (action === 'get') return async (call) => `${(await send(call, 'GET', '/phase')).phase}\n`;
  if (view.fleet)
    return async (call) => {
      const fleet = await send(call, 'GET', '/fleet');
      return view.json ? `${JSON.stringify(fleet, null, 2)}\n` : formatFleet(fleet as unknown as FleetAnswer);
    };
  return async (call) => `${JSON.stringify(await send(call, 'GET', '/status'), null, 2)}\n`;
}

function parsePhase(name: string | undefined): PhaseName {
  if (name === undefined) throw new UsageError(`set needs a phase: ${PHASE_NAMES.join(', ')}`);
  if (!PHASE_NAMES.includes(name as PhaseName))
    throw new UsageError(`unknown phase '${name}': one of ${PHASE_NAMES.join(', ')}`);
  return name as PhaseName;
}

async function setPhase(phase: PhaseName, force: boolean, call: AdminCall): Promise<string> {
  const answer = await send(call, 'PUT', '/phase', { phase, force });
  if (answer.changed !== true) return `phase: ${answer.phase} (unchanged)\n`;
  return `phase: ${answer.previous} -> ${answer.phase}${answer.forced === true ? ' (forced)' : ''}\n`;
}

/** One admin API call; anything but a 2xx JSON answer becomes a Refusal carrying the API's reason. */
async function send(
  call: AdminCall,
  method: 'GET' | 'PUT',
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(call.url + path, {
      method,
      headers: { authorization: `Bearer ${call.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    text = await res.text();
  } catch (err) {
    // fetch reports a network failure as "fetch failed" with the system error (ECONNREFUSED…) as its cause.
    const cause = (err as { cause?: NodeJS.ErrnoException }).cause;
    const code = cause?.code ?? (err as Error).name ?? String(err);
    throw new Refusal(`cannot reach the admin API at ${call.url}: ${code}`);
  }
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: reported below with the status
  }
  if (res.status >= 200 && res.status < 300) return json;
  const reason = typeof json.reason === 'string' ? json.reason : text.slice(0, 200).trim();
  throw new Refusal(`${json.error ?? 'error'} (HTTP ${res.status}): ${reason}`);
}

/** The bearer token from --token-file, $KMP_ADMIN_TOKEN_FILE or $KMP_ADMIN_TOKEN (never printed). */
function readToken(file: string | undefined): string {
  const path = file ?? nonEmpty(process.env.KMP_ADMIN_TOKEN_FILE);
  if (path === undefined) {
    const token = nonEmpty(process.env.KMP_ADMIN_TOKEN);
    if (token === undefined)
      throw new UsageError('no admin token: pass --token-file FILE or set KMP_ADMIN_TOKEN(_FILE)');
    return token;
  }
  let token: string;
  try {
    token = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new UsageError(`cannot read token file ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  if (token === '') throw new UsageError(`token file ${path} is empty`);
  return token;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

interface FleetAnswer {
  instance: string;
  members: Array<{
    instance: string;
    host: string;
    version: string;
    phase: string;
    settling: string | null;
    heartbeat_at_ms: number;
  }>;
  kask_only_entered: { entered_at: string; instance: string } | null;
}

/** The fleet as a table an operator reads at a glance, with the phase counts and the sticky kask-only marker. */
export function formatFleet(fleet: FleetAnswer, now = Date.now()): string {
  const rows = fleet.members.map((m) => [
    m.instance === fleet.instance ? `${m.instance} *` : m.instance,
    m.host,
    m.settling ? `${m.phase} (settling ${m.settling})` : m.phase,
    m.version,
    `${((now - m.heartbeat_at_ms) / 1000).toFixed(1)}s ago`,
  ]);
  const header = ['INSTANCE', 'HOST', 'PHASE', 'VERSION', 'HEARTBEAT'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const counts = new Map<string, number>();
  for (const m of fleet.members) counts.set(m.phase, (counts.get(m.phase) ?? 0) + 1);
  const summary = [...counts].map(([phase, n]) => `${n} ${phase}`).join(', ') || 'no live sidecars';
  const marker = fleet.kask_only_entered
    ? `kask-only entered: ${fleet.kask_only_entered.entered_at} by ${fleet.kask_only_entered.instance}`
    : 'kask-only entered: never';
  return `${[line(header), ...rows.map(line)].join('\n')}\n\n${summary}\n${marker}\n(* = the sidecar answering)\n`;
}

// The operator-facing side of one sidecar, wired in one place: phase control and its guard, the admin API,
// readiness, status hooks, config reload and graceful drain.
import type { Server } from 'node:http';
import type { LiveConfig } from '../config/reload.js';
import type { Config } from '../config/schema.js';
import type { KaskClient } from '../kask/client.js';
import type { PhaseSwitch } from '../phases/phase-switch.js';
import { type RunningAdmin, startAdminServer } from './admin-api.js';
import { InFlight } from './in-flight.js';
import type { Logger } from './logging.js';
import { createMarkerProbe, type OpenRedis } from './marker-probe.js';
import { type FleetGuard, PhaseControl } from './phase-control.js';
import { createReadiness, type ReadinessReport } from './readiness.js';
import { applyReload, type ReloadResult } from './reload.js';
import { type DrainReport, drain } from './shutdown.js';
import { defaultStatusProviders, type StatusProviders } from './status-providers.js';
import { statusReport } from './status-report.js';

/** Beyond the request deadline, how long requests of a phase just left may still run. */
export const PHASE_SETTLE_MARGIN_MS = 1000;

/** What the operator side needs from the sidecar it runs in. */
export interface OperationsDeps {
  live: LiveConfig;
  phases: PhaseSwitch;
  kask: KaskClient;
  redis: OpenRedis;
  logger: Logger;
  background: { readonly size: number; drain(timeoutMs: number): Promise<boolean> };
  /** Whether Redis accepts writes, as readiness probes find out. */
  onRedisWritable?: (writable: boolean) => void;
  /** The fleet registry: the guard's fleet half and the admin API's /fleet. */
  fleet: FleetGuard & { view(): Promise<unknown> };
}

/** Handles the sidecar wires into its front, its status hooks and its shutdown. */
export interface Operations {
  control: PhaseControl;
  /** Breakers and the repair queue report through these (assign the functions). */
  providers: StatusProviders;
  inFlight: InFlight;
  readiness: () => Promise<ReadinessReport>;
  /** The admin API's base URL, or null when `admin.listen` is empty. */
  adminUrl: string | null;
  reload(next: Config): Promise<ReloadResult>;
  /** Stops `server` accepting and waits for its requests and the background work (shutdown.drain_timeout_ms). */
  drain(server: Server): Promise<DrainReport>;
  close(): Promise<void>;
}

/** Builds phase control, readiness and status, and binds the admin listener (before the data listener). */
export async function startOperations(deps: OperationsDeps): Promise<Operations> {
  const { live, logger } = deps;
  const config = live.config;
  const providers = defaultStatusProviders();
  const repairDepth = async () => (await providers.repairQueue().catch(() => null))?.depth ?? null;
  const control = new PhaseControl(
    deps.phases,
    createMarkerProbe(deps.redis, config.redis),
    logger,
    repairDepth,
    deps.fleet,
    config.migration.requestDeadlineMs + PHASE_SETTLE_MARGIN_MS,
  );
  const inFlight = new InFlight();
  let draining = false;
  const readiness = createReadiness({
    onRedisWritable: deps.onRedisWritable,
    phase: () => control.phase,
    kask: deps.kask,
    redis: deps.redis,
    breakers: () => providers.breakers(),
    draining: () => draining,
  });
  const status = () => statusReport({ control, providers, inFlight, background: deps.background });
  const admin: RunningAdmin | null = config.admin.listen
    ? await startAdminServer(config.admin.listen, {
        token: config.admin.token,
        control,
        status,
        fleet: () => deps.fleet.view(),
        logger,
      })
    : null;
  return {
    control,
    providers,
    inFlight,
    readiness,
    adminUrl: admin?.url ?? null,
    reload: (next) => applyReload({ live, control, logger }, next),
    drain(server) {
      draining = true;
      return drain(
        { server, inFlight, background: deps.background, logger },
        live.config.shutdown.drainTimeoutMs,
      );
    },
    close: async () => {
      await admin?.close();
    },
  };
}

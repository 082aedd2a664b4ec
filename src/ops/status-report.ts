// The admin API's /status body: phase, breakers, the copy's completion marker, the repair queue, work in flight.
import type { MarkerRead } from '../fleet/completion-marker.js';
import { COMPLETION_MARKER_KEY } from '../fleet/completion-marker.js';
import { VERSION } from './build-info.js';
import type { InFlight } from './in-flight.js';
import type { PhaseControl } from './phase-control.js';
import type { StatusProviders } from './status-providers.js';

/** Where /status gets its facts. */
export interface StatusSources {
  control: PhaseControl;
  providers: StatusProviders;
  inFlight: InFlight;
  background: { readonly size: number };
}

/** The /status body (JSON, snake_case like the marker). */
export async function statusReport(s: StatusSources): Promise<Record<string, unknown>> {
  const [marker, repairQueue] = await Promise.all([
    s.control.readMarker(),
    s.providers.repairQueue().catch((err: unknown) => ({ error: (err as Error).message })),
  ]);
  return {
    phase: s.control.phase,
    version: VERSION,
    uptime_seconds: Math.round(process.uptime()),
    breakers: s.providers.breakers(),
    copy: copyStatus(marker),
    repair_queue: repairQueue,
    in_flight_requests: s.inFlight.count,
    background_tasks: s.background.size,
  };
}

/** `completed` is what the phase guard would decide; `reason` says why not. */
function copyStatus(read: MarkerRead): Record<string, unknown> {
  const base = { marker_key: COMPLETION_MARKER_KEY };
  if (read.kind === 'present') return { ...base, completed: true, marker: read.marker };
  if (read.kind === 'absent') return { ...base, completed: false, reason: 'marker absent' };
  return { ...base, completed: false, reason: read.reason };
}

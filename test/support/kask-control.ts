// Direct access to a Kask emulator process for the fault suites: its fault knobs, and its storage read without the
// sidecar (or any forwarder) in between.
import { Pool } from 'undici';
import type { FaultSettings } from '../../src/emulator/faults.js';

export interface KaskControl {
  faults(settings: Partial<FaultSettings>): Promise<void>;
  /** The stored bytes under `base + key`, or null on a miss. */
  get(key: string): Promise<Buffer | null>;
  close(): Promise<void>;
}

export function kaskControl(emulatorPort: number, base: string): KaskControl {
  const pool = new Pool(`http://127.0.0.1:${emulatorPort}`, { connections: 4 });
  return {
    async faults(settings) {
      const res = await pool.request({
        method: 'PUT',
        path: '/_emulator/faults',
        body: JSON.stringify(settings),
      });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`fault control answered ${res.statusCode}`);
    },
    async get(key) {
      const res = await pool.request({ method: 'GET', path: base + encodeURIComponent(key) });
      const body = Buffer.from(await res.body.arrayBuffer());
      return res.statusCode === 200 ? body : null;
    },
    close: () => pool.close(),
  };
}

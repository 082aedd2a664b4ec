// `npm run dashboards`: writes the dashboard JSON that Grafana imports (and that is committed) from dashboard.ts.
import { writeFileSync } from 'node:fs';
import { renderDashboard } from './dashboard.js';

const DASHBOARD_FILE = 'deploy/grafana/kask-migration-proxy.json';

writeFileSync(DASHBOARD_FILE, renderDashboard());
process.stdout.write(`wrote ${DASHBOARD_FILE}\n`);

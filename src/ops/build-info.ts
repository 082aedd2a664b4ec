// Version and build facts for /healthz and the build-info metric, read once from package.json.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export const VERSION: string = pkg.version;
export const BUILD = Object.freeze({
  version: VERSION,
  buildDate: process.env.KMP_BUILD_DATE ?? 'unknown',
  buildHost: process.env.KMP_BUILD_HOST ?? hostname(),
  runtime: `node ${process.version}`,
});

#!/usr/bin/env node
// Entry point: the compiled CLI lives in dist/ (built by `npm run build`, run on `npm ci` via `prepare`).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));

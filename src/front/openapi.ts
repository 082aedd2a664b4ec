// The OpenAPI document served at /openapi, rendered with the configured base URI. It keeps Kask's x-amples, which
// WMF's service-checker runs as its monitoring probe (POST then GET of KASK:K:INTEGRATION_TEST_KEY).
import { readFileSync } from 'node:fs';

const TEMPLATE_URL = new URL('../../openapi.yaml', import.meta.url);
let template: string | null = null;

export function renderOpenApi(baseUri: string): string {
  template ??= readFileSync(TEMPLATE_URL, 'utf8');
  return template.replaceAll('{{BASE_URI}}', baseUri);
}

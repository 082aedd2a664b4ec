// JSON logs in ECS field names (Wikimedia's logging pipeline is ECS); never values, tokens or HMAC keys.
import { type Logger, pino } from 'pino';
import type { LogLevel } from '../config/schema.js';
import { VERSION } from './build-info.js';

export type { Logger };

export function createLogger(
  serviceName: string,
  level: LogLevel,
  destination?: pino.DestinationStream,
): Logger {
  return pino(
    {
      level,
      messageKey: 'message',
      timestamp: () => `,"@timestamp":"${new Date().toISOString()}"`,
      base: { 'ecs.version': '8.11.0', 'service.name': serviceName, 'service.version': VERSION },
      formatters: {
        level: (label) => ({ 'log.level': label }),
      },
      // Defence in depth: should a secret ever reach a log call, it is blanked before serialisation.
      redact: {
        paths: ['token', 'hmacKey', 'authorization', '*.authorization', 'value'],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** ECS `error.*` fields for a caught error, with its stable code when it has one. */
export function errorFields(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { 'error.message': String(err) };
  const code = (err as { code?: unknown }).code;
  return { 'error.type': err.name, 'error.message': err.message, ...(code ? { 'error.code': code } : {}) };
}

// The two ways a bulk tool stops early, each with its own exit code (src/cli/bulk-exit.ts): a store it cannot
// reach, and a setting or checkpoint it cannot use. Both carry a one-line message fit for stderr.

export class StoreUnreachableError extends Error {
  override readonly name = 'StoreUnreachableError';
  constructor(
    readonly store: 'redis' | 'kask',
    message: string,
  ) {
    super(message);
  }
}

export class BulkSettingsError extends Error {
  override readonly name = 'BulkSettingsError';
}

/** A URL fit for messages: credentials removed. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

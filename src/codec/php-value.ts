// The PHP value model every codec shares: PHP strings are byte strings, so they are Buffers, never JS strings.

/** A PHP value as serialize()/json_decode() see it; bigint is a PHP int (int64), number a PHP float. */
export type PhpValue = null | boolean | bigint | number | Buffer | PhpArray | PhpObject;

/** A PHP array: ordered entries whose keys are PHP ints (bigint) or PHP strings (Buffer), as PHP holds them. */
export class PhpArray {
  constructor(public readonly entries: Array<[bigint | Buffer, PhpValue]>) {}
}

/**
 * A PHP object, parsed only so PHP-typed payloads can be validated and passed through; never JSON-encodable.
 * Property names are kept exactly as serialized (private/protected names keep their NUL-mangled form).
 */
export class PhpObject {
  constructor(
    public readonly className: Buffer,
    public readonly props: Array<[Buffer, PhpValue]>,
  ) {}
}

/** PHP's built-in stdClass, the one class whose objects the codec knows everything about (no hooks, no schema). */
export const STD_CLASS: Buffer = Buffer.from('stdClass', 'latin1');

/** PHP class names are case-insensitive: `O:8:"STDCLASS":…` is a stdClass too (and serializes back as `stdClass`). */
export function isStdClass(name: Buffer): boolean {
  if (name.length !== STD_CLASS.length) return false;
  for (let i = 0; i < name.length; i++) if ((name[i]! | 0x20) !== (STD_CLASS[i]! | 0x20)) return false;
  return true;
}

/** Why a value could not be decoded, encoded or converted; the only error type the codec throws. */
export type CodecErrorCode =
  | 'MALFORMED'
  | 'UNSUPPORTED'
  | 'NOT_UTF8'
  | 'NOT_JSON_ENCODABLE'
  | 'BAD_ENVELOPE'
  | 'HMAC_MISMATCH'
  | 'TYPE_MISMATCH';

/** Carries a machine-readable code so callers can count and log failures without parsing messages. */
export class CodecError extends Error {
  constructor(
    public readonly code: CodecErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CodecError';
  }
}

/** Builds a PHP string from JS text (UTF-8), for tests and callers that start from text. */
export function phpString(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

// The codec's public surface: the value model, PHP's two serializations, and the two store formats.

export { type Conversion, envelopeToRedis, redisToEnvelope } from './convert.js';
export {
  decodeEnvelope,
  ENVELOPE_TYPES,
  type EnvelopeSettings,
  type EnvelopeType,
  encodeEnvelope,
  openEnvelope,
  sealEnvelope,
} from './envelope.js';
export { jsonDecode, jsonEncode } from './php-json.js';
export { serialize, unserialize } from './php-serialize.js';
export {
  CodecError,
  type CodecErrorCode,
  PhpArray,
  PhpObject,
  type PhpValue,
  phpString,
} from './php-value.js';
export { decodeRedisValue, encodeRedisValue } from './redis-format.js';

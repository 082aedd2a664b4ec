// Loads the vectors real PHP generated (test/fixtures/php/vectors.json) and rebuilds PHP values from their
// typed trees, so the tests never have to trust the codec under test to produce the expected values.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PhpArray, PhpObject, type PhpValue } from '../../src/codec/php-value.js';

export type Tree =
  | { t: 'null' }
  | { t: 'bool'; v: boolean }
  | { t: 'int'; v: string }
  | { t: 'float'; hex: string }
  | { t: 'string'; b64: string }
  | { t: 'array'; entries: Array<[Tree, Tree]> }
  | { t: 'object'; class: string; props: Array<[string, Tree]> };

export interface Envelopes {
  plain: string;
  signed: string;
}

export interface ValueVector {
  name: string;
  tree: Tree;
  redis: string;
  serialize: string;
  json: string | null;
  jsonError: string | null;
  jsonRoundTrip: string | null;
  envelopes: { PHP: Envelopes; JSON: Envelopes | null };
  redisFromJson: string | null;
}

export interface Verdict {
  accepted: boolean;
  isFalse: boolean;
  reserialized: string | null;
}

export interface BlobVector {
  blob: string;
  unsupported: boolean;
  unserialize: Verdict;
  redis: Verdict;
  toEnvelope: { PHP: Envelopes | null; JSON: Envelopes | null } | null;
  jsonError: string | null;
  /** For `b:0;` + rest: whether RESTBagOStuff reads the rest as an opaque miss, per type and signing. */
  opaqueRest: Record<'PHP' | 'JSON', Record<'plain' | 'signed', boolean>> | null;
}

export interface JsonVector {
  json: string;
  accepted: boolean;
  reserialized: string | null;
}

export interface EnvelopeVector extends Verdict {
  type: 'PHP' | 'JSON';
  hmacKey: string;
  body: string;
  /** The proxy's Redis bytes for the body, as PHP computes the rule. */
  redis: string;
  /** serialize() of what RedisBagOStuff reads from those bytes, and the warnings PHP printed reading them. */
  redisRead: string;
  redisWarnings: string[];
}

/** One class's json_encode of the same serialized properties (`a` then `b`). */
export interface ObjectEvidence {
  class: string;
  blob: string;
  json: string | null;
}

export interface PhpVectors {
  php: string;
  hmacKey: string;
  values: ValueVector[];
  blobs: BlobVector[];
  json: JsonVector[];
  envelopes: EnvelopeVector[];
  objectEvidence: ObjectEvidence[];
}

const path = fileURLToPath(new URL('../fixtures/php/vectors.json', import.meta.url));

/** The parsed fixture file. */
export const vectors: PhpVectors = JSON.parse(readFileSync(path, 'utf8')) as PhpVectors;

/** Base64 from the fixture file to bytes. */
export function b64(text: string): Buffer {
  return Buffer.from(text, 'base64');
}

/** Rebuilds the PHP value a tree describes. */
export function fromTree(tree: Tree): PhpValue {
  switch (tree.t) {
    case 'null':
      return null;
    case 'bool':
      return tree.v;
    case 'int':
      return BigInt(tree.v);
    case 'float':
      return Buffer.from(tree.hex, 'hex').readDoubleBE(0);
    case 'string':
      return b64(tree.b64);
    case 'array':
      return new PhpArray(tree.entries.map(([k, v]) => [fromTree(k) as bigint | Buffer, fromTree(v)]));
    case 'object':
      return new PhpObject(
        b64(tree.class),
        tree.props.map(([k, v]) => [b64(k), fromTree(v)]),
      );
  }
}

/** A readable label for a byte string in test names. */
export function label(bytes: Buffer): string {
  const text = JSON.stringify(bytes.toString('latin1'));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

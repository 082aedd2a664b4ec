// Shard assignment for `copy --shard i/n`: a pure function of the key's bytes, so n workers scanning the same
// keyspace in any order split it exactly (every key belongs to one shard), whatever each one's SCAN returns.
export interface Shard {
  index: number;
  count: number;
}

export const WHOLE_KEYSPACE: Shard = Object.freeze({ index: 0, count: 1 });

/** FNV-1a (32 bit) of the key, mod `count`. */
export function shardOf(key: Uint8Array, count: number): number {
  if (count === 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key[i]!;
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % count;
}

export function shardLabel(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}

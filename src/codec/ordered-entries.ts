// PHP hash tables keep insertion order and let a repeated key overwrite the value in its first position;
// unserialize() and json_decode() both rely on that, so decoded arrays must collapse duplicate keys the same way.

/** Small tables are scanned; past this many entries a Map index is built so hostile inputs stay linear. */
const SCAN_LIMIT = 16;

/** An insertion-ordered key/value list with PHP's "last write wins, first position kept" rule. */
export class OrderedEntries<K extends bigint | Buffer, V> {
  readonly entries: Array<[K, V]> = [];
  private index: Map<bigint | string, number> | null = null;

  set(key: K, value: V): void {
    const at = this.find(key);
    if (at < 0) {
      this.index?.set(hashKey(key), this.entries.length);
      this.entries.push([key, value]);
    } else {
      this.entries[at]![1] = value;
    }
  }

  private find(key: K): number {
    if (this.index !== null) return this.index.get(hashKey(key)) ?? -1;
    if (this.entries.length < SCAN_LIMIT) return scan(this.entries, key);
    this.index = new Map();
    for (let i = 0; i < this.entries.length; i++) this.index.set(hashKey(this.entries[i]![0]), i);
    return this.index.get(hashKey(key)) ?? -1;
  }
}

function scan<K extends bigint | Buffer, V>(entries: ReadonlyArray<[K, V]>, key: K): number {
  for (let i = 0; i < entries.length; i++) {
    const existing = entries[i]![0];
    if (typeof key === 'bigint' ? existing === key : typeof existing !== 'bigint' && key.equals(existing)) {
      return i;
    }
  }
  return -1;
}

/** Int keys hash as themselves; byte-string keys are decoded one byte per char purely to serve as a Map key. */
function hashKey(key: bigint | Buffer): bigint | string {
  return typeof key === 'bigint' ? key : key.toString('latin1');
}

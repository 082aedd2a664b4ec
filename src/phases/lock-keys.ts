// BagOStuff lock keys (`{key}:lock`, written by lock()/merge()) are short-lived mutexes: never copied into Kask.

const LOCK_SUFFIX = Buffer.from(':lock');

export function isLockKey(key: Buffer): boolean {
  return (
    key.length >= LOCK_SUFFIX.length && key.subarray(key.length - LOCK_SUFFIX.length).equals(LOCK_SUFFIX)
  );
}

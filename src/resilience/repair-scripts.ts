// The repair queue's Redis scripts: each step that must not interleave with another sidecar runs as one script.
// Queue keys share the hash tag {repair}, so every script touches one Redis Cluster slot.

/**
 * Records keys. KEYS: queue (sorted set: member = key, score = first failure in ms), generations (hash: key →
 * "<last failure ms>:<times recorded>"). ARGV: max queue size, then (first ms, last ms, member) triples. A key
 * already queued keeps its first-failure score but its generation moves on, so a repair that started before this
 * failure will not remove it. Returns the 1-based triple indices refused because the queue is full.
 */
export const RECORD_SCRIPT = `
local size = redis.call('ZCARD', KEYS[1])
local max = tonumber(ARGV[1])
local refused = {}
for i = 2, #ARGV, 3 do
  local member = ARGV[i + 2]
  local known = redis.call('ZSCORE', KEYS[1], member)
  if known or size < max then
    if not known then
      redis.call('ZADD', KEYS[1], ARGV[i], member)
      size = size + 1
    end
    local generation = redis.call('HGET', KEYS[2], member)
    local times = 1
    if generation then times = tonumber(string.match(generation, ':(%d+)$')) + 1 end
    redis.call('HSET', KEYS[2], member, ARGV[i + 1] .. ':' .. times)
  else
    refused[#refused + 1] = (i + 1) / 3
  end
end
return refused
`;

/** Removes a repaired key only if nothing recorded it again since its generation was read. KEYS as above. */
export const COMPLETE_SCRIPT = `
local generation = redis.call('HGET', KEYS[2], ARGV[1]) or ''
if generation == ARGV[2] then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  return 1
end
return 0
`;

/** Both directions' queue lengths in one call. KEYS: the two queues. */
export const DEPTH_SCRIPT = `
return { redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[2]) }
`;

/** The 1-based indices of ARGV members present in the sorted set KEYS[1] (ZMSCORE needs Redis 6.2). */
export const PRESENT_SCRIPT = `
local present = {}
for i = 1, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then present[#present + 1] = i end
end
return present
`;

/**
 * Compare-and-set of one data key, for catching Redis up with Kask. KEYS: the data key. ARGV: expected state
 * ('absent' | 'value', then the expected bytes), new state ('delete' | 'value', then the bytes), TTL seconds
 * (0 = none). Returns 1 when applied, 0 when the key no longer holds the expected state (another writer got there).
 */
export const COMPARE_AND_SET_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if ARGV[1] == 'absent' then
  if current then return 0 end
elseif current ~= ARGV[2] then
  return 0
end
if ARGV[3] == 'delete' then
  redis.call('DEL', KEYS[1])
elseif tonumber(ARGV[5]) > 0 then
  redis.call('SET', KEYS[1], ARGV[4], 'EX', ARGV[5])
else
  redis.call('SET', KEYS[1], ARGV[4])
end
return 1
`;

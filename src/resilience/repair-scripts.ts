// The repair queue's Redis scripts: each step that must not interleave with another sidecar runs as one script.
// KEYS[1] is the queue (sorted set: member = data key, score = when it may next be repaired, ms), KEYS[2] the
// generations (hash: data key → "<times recorded>:<failed attempts>"). Both share the hash tag {repair}, so every
// script touches one Redis Cluster slot.

/**
 * Records keys. ARGV: max queue size, then (due ms, member) pairs. A new key is added with its due time; a known
 * key's due time only moves later (a fresh settle time after a new failure must hold, and a backoff already in
 * force stays). Either way its generation moves on, so a repair that started before this record cannot remove it.
 * Returns the 1-based pair indices refused because the queue is full.
 */
export const RECORD_SCRIPT = `
local size = redis.call('ZCARD', KEYS[1])
local max = tonumber(ARGV[1])
local refused = {}
for i = 2, #ARGV, 2 do
  local due = tonumber(ARGV[i])
  local member = ARGV[i + 1]
  local score = redis.call('ZSCORE', KEYS[1], member)
  if score or size < max then
    if not score then
      redis.call('ZADD', KEYS[1], due, member)
      size = size + 1
    elseif due > tonumber(score) then
      redis.call('ZADD', KEYS[1], due, member)
    end
    local times, failures = 0, 0
    local generation = redis.call('HGET', KEYS[2], member)
    if generation then
      times, failures = string.match(generation, '^(%d+):(%d+)$')
    end
    redis.call('HSET', KEYS[2], member, (tonumber(times) + 1) .. ':' .. failures)
  else
    refused[#refused + 1] = i / 2
  end
end
return refused
`;

/**
 * The keys due now, with their due times and generations, read in one step (a record landing between a range
 * read and a generation read would otherwise lend a fresh failure an old generation). ARGV: now ms, count.
 * Returns a flat list: member, score, generation, …
 */
export const DUE_SCRIPT = `
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for i = 1, #members, 2 do
  out[#out + 1] = members[i]
  out[#out + 1] = members[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[2], members[i]) or '0:0'
end
return out
`;

/** Removes a repaired key only if nothing recorded it again since its generation was read. ARGV: member, generation. */
export const COMPLETE_SCRIPT = `
local generation = redis.call('HGET', KEYS[2], ARGV[1]) or '0:0'
if generation == ARGV[2] then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  return 1
end
return 0
`;

/**
 * A failed attempt: counts the failure and moves the key's due time to ARGV[3], unless it was recorded again
 * meanwhile (that record already set a fresh due time). ARGV: member, generation, due ms.
 */
export const RETRY_SCRIPT = `
local generation = redis.call('HGET', KEYS[2], ARGV[1]) or '0:0'
if generation ~= ARGV[2] then return 0 end
local times, failures = string.match(generation, '^(%d+):(%d+)$')
redis.call('HSET', KEYS[2], ARGV[1], times .. ':' .. (tonumber(failures) + 1))
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
`;

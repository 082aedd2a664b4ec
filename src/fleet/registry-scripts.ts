// The fleet registry's Redis scripts. KEYS[1]: the members hash (instance → JSON record), KEYS[2]: the sticky
// "kask-only was entered" marker. Both carry the hash tag {fleet}, so each script touches one Redis Cluster slot.
// A member is live while its record's `expires_at_ms` is in the future; expired members are removed as they are met.

/**
 * Claims a phase change atomically, so two operators changing two hosts at once cannot both pass the guard.
 * ARGV: instance, the new record (JSON), now ms, comma-separated phases the other live members may be in,
 * check_sticky ("1": refuse while the kask-only marker exists), set_sticky (JSON to store, or "").
 * Returns {1} when claimed; {0, reason, offender…} when refused.
 */
export const CLAIM_SCRIPT = `
local now = tonumber(ARGV[3])
local allowed = {}
for phase in string.gmatch(ARGV[4], '[^,]+') do allowed[phase] = true end
if ARGV[5] == '1' then
  local sticky = redis.call('GET', KEYS[2])
  if sticky then return {0, 'sticky', sticky} end
end
local offenders = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local instance, raw = all[i], all[i + 1]
  local ok, record = pcall(cjson.decode, raw)
  if not ok or type(record) ~= 'table' or tonumber(record.expires_at_ms or 0) <= now then
    redis.call('HDEL', KEYS[1], instance)
  elseif instance ~= ARGV[1] then
    local bad = not allowed[record.phase]
    if record.settling and record.settling ~= cjson.null and tonumber(record.settles_at_ms or 0) > now
      and not allowed[record.settling] then bad = true end
    if bad then offenders[#offenders + 1] = raw end
  end
end
if #offenders > 0 then
  local out = {0, 'fleet'}
  for _, raw in ipairs(offenders) do out[#out + 1] = raw end
  return out
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[6] ~= '' and redis.call('EXISTS', KEYS[2]) == 0 then redis.call('SET', KEYS[2], ARGV[6]) end
return {1}
`;

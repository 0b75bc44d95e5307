/**
 * Compare-and-set of a record's `status` field in one Lua call, so that two concurrent actions on the
 * same run or finetune job cannot both win.
 *   KEYS[1] = the record's hash; ARGV = new status, updatedAt, allowed current statuses...
 *   → {1, previous} when set, {0, current} (current '' when the record does not exist) when refused.
 */
export const STATUS_TRANSITION_SCRIPT = `
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return {0, ''} end
for i = 3, #ARGV do
  if ARGV[i] == cur then
    redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updatedAt', ARGV[2])
    return {1, cur}
  end
end
return {0, cur}
`;

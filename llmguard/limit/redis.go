package limit

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// applyScript is Store.Apply in Redis, atomic because Redis runs a script without
// interleaving. KEYS are state keys; ARGV = mode (1 reserve, 2 adjust, 3 peek), now in
// ms, then per key: algo ("b" bucket, "c" counter), limit, window ms (bucket) or expiry in
// unix ms (counter), amount. It returns {committed, level...} with levels as strings
// (Redis would truncate Lua numbers to integers).
//
// Bucket state is a hash {l = level, t = last update ms}; counters are plain values that
// expire at their period end (relative to the callers' clock, like everything else). Keys expire once they hold no information (a drained bucket, an
// ended period), so Redis memory is O(1) per active key.
const applyScript = `
local mode = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local pending = {}
local levels = {}
local ok = 1
for i = 1, #KEYS do
  local b = 2 + (i - 1) * 4
  local algo, limit, w, amt = ARGV[b + 1], tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4])
  local k = KEYS[i]
  local cur = pending[k]
  if cur == nil then
    if algo == 'b' then
      local st = redis.call('HMGET', k, 'l', 't')
      cur = tonumber(st[1]) or 0
      local t = tonumber(st[2]) or now
      if now > t and cur > 0 then
        cur = cur - (now - t) * limit / w
        if cur < 0 then cur = 0 end
      end
    else
      cur = tonumber(redis.call('GET', k)) or 0
    end
  end
  local nl = cur
  if mode ~= 3 then
    nl = cur + amt
    if nl < 0 then nl = 0 end
  end
  pending[k] = nl
  levels[i] = nl
  if mode == 1 and amt > 0 and nl > limit + 1e-9 then ok = 0 end
end
if mode == 3 or ok == 0 then
  local out = {0}
  for i = 1, #KEYS do out[i + 1] = tostring(levels[i]) end
  return out
end
local out = {1}
for i = 1, #KEYS do
  local b = 2 + (i - 1) * 4
  local algo, limit, w = ARGV[b + 1], tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
  local k = KEYS[i]
  local nl = levels[i]
  if algo == 'b' then
    local t = tonumber(redis.call('HGET', k, 't')) or now
    if now > t then t = now end
    redis.call('HSET', k, 'l', tostring(nl), 't', tostring(t))
    redis.call('PEXPIRE', k, math.ceil(nl * w / limit) + 1000)
  else
    if w > now then
      redis.call('SET', k, tostring(nl), 'PX', math.ceil(w - now))
    else
      redis.call('DEL', k)
    end
  end
  out[i + 1] = tostring(nl)
end
return out
`

var script = redis.NewScript(applyScript)

// RedisStore keeps state in Redis (or a Redis Cluster), shared by every gateway instance
// that uses the same Redis and prefix. Keys are "<prefix>{<limit key>}:<rule>[:<period>]":
// the hash tag puts all rules of one limit key on one cluster slot, so a request's
// reservation is one atomic script whenever its rules share their key template (and
// always on a single Redis). Rules with different keys on a cluster are reserved slot by
// slot, refunding the earlier slots when a later one refuses.
//
// Clocks: levels drain by the callers' clocks (now), so instances need synchronised
// clocks (NTP); a clock behind the last update simply does not drain.
type RedisStore struct {
	client  redis.UniversalClient
	prefix  string
	cluster bool
	// RetryInterval is how long the store answers ErrUnavailable without asking Redis
	// after a failure, so that an outage costs requests no timeouts; the first request
	// after it probes Redis again. Default 1s.
	RetryInterval time.Duration
	downUntil     atomic.Int64 // unix ns
}

// NewRedisStore returns a store using client. cluster says whether client talks to a
// Redis Cluster (multi-slot reservations are then split by hash tag).
func NewRedisStore(client redis.UniversalClient, prefix string, cluster bool) *RedisStore {
	return &RedisStore{client: client, prefix: prefix, cluster: cluster, RetryInterval: time.Second}
}

// Client returns the Redis client.
func (s *RedisStore) Client() redis.UniversalClient { return s.client }

var tagEscaper = strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D")

// Key returns the Redis key of op. Braces in the limit key are escaped, so the hash tag is
// exactly the key and two limit keys can never collide.
func (s *RedisStore) Key(op *Op) string {
	k := s.prefix + "{" + tagEscaper.Replace(op.Key) + "}:" + op.Rule
	if op.Period != "" {
		k += ":" + op.Period
	}
	return k
}

// Apply implements Store.
func (s *RedisStore) Apply(ctx context.Context, now time.Time, ops []Op, mode Mode) ([]float64, bool, error) {
	if until := s.downUntil.Load(); until != 0 && now.UnixNano() < until {
		return nil, false, fmt.Errorf("%w: redis failed recently; retrying after %s", ErrUnavailable, time.Unix(0, until).Format(time.RFC3339Nano))
	}
	if !s.cluster || len(ops) < 2 {
		return s.eval(ctx, now, ops, mode)
	}
	groups := map[string][]int{}
	var order []string
	for i := range ops {
		if _, ok := groups[ops[i].Key]; !ok {
			order = append(order, ops[i].Key)
		}
		groups[ops[i].Key] = append(groups[ops[i].Key], i)
	}
	if len(order) == 1 {
		return s.eval(ctx, now, ops, mode)
	}
	levels := make([]float64, len(ops))
	for gi, g := range order {
		sub := make([]Op, len(groups[g]))
		for j, i := range groups[g] {
			sub[j] = ops[i]
		}
		lv, ok, err := s.eval(ctx, now, sub, mode)
		if err == nil {
			for j, i := range groups[g] {
				levels[i] = lv[j]
			}
		}
		if mode == ModeReserve && (err != nil || !ok) {
			s.rollback(ctx, now, ops, groups, order[:gi])
			return levels, false, err
		}
		if err != nil {
			return nil, false, err
		}
	}
	return levels, mode != ModePeek, nil
}

// rollback refunds the groups already reserved when a later slot refused or failed.
func (s *RedisStore) rollback(ctx context.Context, now time.Time, ops []Op, groups map[string][]int, done []string) {
	for _, g := range done {
		var sub []Op
		for _, i := range groups[g] {
			op := ops[i]
			op.Amount = -op.Amount
			sub = append(sub, op)
		}
		_, _, _ = s.eval(ctx, now, sub, ModeAdjust) // best effort; a lost refund over-charges
	}
}

func (s *RedisStore) eval(ctx context.Context, now time.Time, ops []Op, mode Mode) ([]float64, bool, error) {
	keys := make([]string, len(ops))
	args := make([]any, 0, 2+4*len(ops))
	args = append(args, int(mode), now.UnixMilli())
	for i := range ops {
		op := &ops[i]
		keys[i] = s.Key(op)
		if op.Algo == Bucket {
			args = append(args, "b", op.Limit, op.Window.Milliseconds())
		} else {
			args = append(args, "c", op.Limit, op.Expire.UnixMilli())
		}
		args = append(args, op.Amount)
	}
	res, err := script.Run(ctx, s.client, keys, args...).Slice()
	if err != nil {
		s.downUntil.Store(now.Add(s.RetryInterval).UnixNano())
		return nil, false, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	s.downUntil.Store(0)
	if len(res) != len(ops)+1 {
		return nil, false, fmt.Errorf("%w: unexpected script reply of %d values", ErrUnavailable, len(res))
	}
	levels := make([]float64, len(ops))
	for i := range ops {
		str, _ := res[i+1].(string)
		f, err := strconv.ParseFloat(str, 64)
		if err != nil {
			return nil, false, fmt.Errorf("%w: bad level %q", ErrUnavailable, str)
		}
		levels[i] = f
	}
	committed, _ := res[0].(int64)
	return levels, committed == 1, nil
}

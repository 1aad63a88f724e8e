package limit

import (
	"context"
	"errors"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Persistence is what a Redis server does to keep its data across a restart. Without
// either, a restarted Redis starts empty: every window and budget the limiter kept there
// is granted afresh (a 60/h limit admits 60 more at once, a monthly budget restarts).
type Persistence struct {
	RDB bool // snapshots are configured ("save" is not empty)
	AOF bool // the append-only file is on
	// Known is false when the server would not say: CONFIG renamed or not permitted for
	// our user, and INFO showed no AOF (INFO does not tell whether snapshots are set).
	Known bool
}

// Persists reports whether the server keeps its data across a restart.
func (p Persistence) Persists() bool { return p.RDB || p.AOF }

// CheckPersistence asks the server how it persists: CONFIG GET save/appendonly where
// permitted, else INFO persistence. A refusal by the server is not an error (many
// managed Redis services rename CONFIG); only a failure to reach it is. With Redis
// Cluster it asks the node the client reaches first.
func (s *RedisStore) CheckPersistence(ctx context.Context) (Persistence, error) {
	save, err := s.client.ConfigGet(ctx, "save").Result()
	if err == nil {
		var aof map[string]string
		if aof, err = s.client.ConfigGet(ctx, "appendonly").Result(); err == nil {
			return Persistence{RDB: strings.TrimSpace(save["save"]) != "", AOF: aof["appendonly"] == "yes", Known: true}, nil
		}
	}
	if !isServerError(err) {
		return Persistence{}, err
	}
	info, err := s.client.Info(ctx, "persistence").Result()
	if err != nil {
		if isServerError(err) {
			return Persistence{}, nil
		}
		return Persistence{}, err
	}
	for _, line := range strings.Split(info, "\n") {
		if strings.TrimSpace(line) == "aof_enabled:1" {
			return Persistence{AOF: true, Known: true}, nil
		}
	}
	return Persistence{}, nil
}

// isServerError reports an error reply from Redis (unknown command, NOPERM), as opposed
// to a connection failure.
func isServerError(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && !errors.Is(err, redis.Nil)
}

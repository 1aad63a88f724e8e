package llmauth

import (
	"context"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	cfparse "github.com/llmguard/caddy-llmguard/caddyfile"
	"github.com/llmguard/caddy-llmguard/llmguard/sharedkeys"
	"github.com/llmguard/caddy-llmguard/modules/llmredis"
)

func init() {
	caddy.RegisterModule(RedisKeys{})
}

// sharedPool holds the shared key stores across config reloads: the old and the new
// configuration overlap during a reload and both hold a reference, so the local cache —
// the last known key set, which is what serves requests during a Redis outage — survives
// a reload, and one poller runs per Redis and prefix.
var sharedPool = caddy.NewUsagePool()

// RedisKeys is the http.handlers.llm_auth.key_stores.redis module: the api_keys source's
// keys live in Redis, shared by every gateway instance configured with the same Redis
// and prefix, and are administered through admin.api.llm_keys (or `caddy llmguard key …
// --address`) on any instance. Redis holds the key set in the key file format (hashes
// only) and a version counter; each instance polls the version every PollInterval and
// reloads the set when it moved, so a change made on one instance is in force on all of
// them within PollInterval plus one round trip, and on the instance that made it before
// the admin API answers.
//
// During a Redis outage every instance keeps serving the last set it read, keys revoked
// before the outage stay refused, and changes fail with 503 and change nothing. A set
// with a lower version than one already seen (a Redis restarted without persistence, a
// stale replica) is never installed — the instance writes its last known set back — so
// an outage can never revive a revoked key. Once Redis has been unreachable for longer
// than MaxStale the shared keys are refused with 503 until it answers again: that bounds
// how long a key revoked elsewhere during a network partition is still honoured here.
type RedisKeys struct {
	// Options are the connection settings (addresses, cluster, username, password, db,
	// timeout), the same as llm_rate_limit's redis store.
	llmredis.Options
	// Prefix starts both Redis keys, "<prefix>{keys}" and "<prefix>{keys}:version", so
	// that several gateway fleets can share a Redis without sharing keys. Default
	// "llmguard:keys:".
	Prefix string `json:"prefix,omitempty"`
	// PollInterval is how often the version is read. Default 250ms: changes reach every
	// instance in well under a second, for four small GETs per second per instance.
	PollInterval caddy.Duration `json:"poll_interval,omitempty"`
	// MaxStale is how long the last known set is served while Redis cannot be reached;
	// after it, shared keys are refused with 503 (fail closed). Default 5m.
	MaxStale caddy.Duration `json:"max_stale,omitempty"`

	store   *sharedkeys.Store
	name    string
	poolKey string
}

// CaddyModule returns the Caddy module information.
func (RedisKeys) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.llm_auth.key_stores.redis", New: func() caddy.Module { return new(RedisKeys) }}
}

type sharedHolder struct {
	store  *sharedkeys.Store
	client *llmredis.Client
	stop   context.CancelFunc
}

func (h *sharedHolder) Destruct() error {
	h.stop()
	return h.client.Close()
}

// Provision gets (or starts) the shared store for these settings. It does no network
// I/O: the poller reads the set in the background, and until it has, keys it would hold
// are answered with 503 rather than refused as unknown.
func (k *RedisKeys) Provision(ctx caddy.Context) error {
	if k.Prefix == "" {
		k.Prefix = "llmguard:keys:"
	}
	if k.PollInterval <= 0 {
		k.PollInterval = caddy.Duration(250 * time.Millisecond)
	}
	if k.MaxStale <= 0 {
		k.MaxStale = caddy.Duration(5 * time.Minute)
	}
	c, err := k.NewClient()
	if err != nil {
		return fmt.Errorf("key store: %v", err)
	}
	k.poolKey = fmt.Sprintf("llm_auth.redis|%s|%s|%d|%d", c.Key, k.Prefix, k.PollInterval, k.MaxStale)
	// The admin API names the store by where it is, never by its password.
	k.name = fmt.Sprintf("redis://%s/%d/%s", k.Addresses[0], k.DB, k.Prefix)
	logger := ctx.Logger()
	v, loaded, err := sharedPool.LoadOrNew(k.poolKey, func() (caddy.Destructor, error) {
		st := sharedkeys.New(c, k.Prefix, logger)
		st.MaxStale = time.Duration(k.MaxStale)
		// A poll waits at most one timeout, so that a slow Redis delays the next poll
		// by that much, never more.
		st.Timeout = time.Duration(k.Timeout)
		runCtx, stop := context.WithCancel(context.Background())
		go st.Run(runCtx, time.Duration(k.PollInterval))
		return &sharedHolder{store: st, client: c, stop: stop}, nil
	})
	if err != nil {
		return err
	}
	if loaded {
		c.Close() // an equal store is running; this client never connected
	}
	k.store = v.(*sharedHolder).store
	return nil
}

// Cleanup releases this configuration's reference; the last one stops the poller.
func (k *RedisKeys) Cleanup() error {
	if k.poolKey == "" {
		return nil
	}
	_, err := sharedPool.Delete(k.poolKey)
	return err
}

// UnmarshalCaddyfile sets up the shared key store. Syntax:
//
//	store redis {
//	    address <host:port>...
//	    cluster
//	    username <name>
//	    password <secret>      # use {env.REDIS_PASSWORD}
//	    db <n>
//	    timeout <duration>
//	    prefix <text>
//	    poll_interval <duration>
//	    max_stale <duration>
//	}
func (k *RedisKeys) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume store name
	return k.UnmarshalBlock(d, func(d *caddyfile.Dispenser) (bool, error) {
		var err error
		switch d.Val() {
		case "prefix":
			k.Prefix, err = cfparse.Arg(d)
		case "poll_interval":
			k.PollInterval, err = cfparse.Duration(d)
		case "max_stale":
			k.MaxStale, err = cfparse.Duration(d)
		default:
			return false, nil
		}
		return true, err
	})
}

// Interface guards
var (
	_ caddy.Provisioner     = (*RedisKeys)(nil)
	_ caddy.CleanerUpper    = (*RedisKeys)(nil)
	_ caddyfile.Unmarshaler = (*RedisKeys)(nil)
)

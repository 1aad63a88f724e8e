// Package llmredis holds what every llm_* module that talks to Redis shares: the
// connection options (the JSON fields and the Caddyfile subdirectives address, cluster,
// username, password, db, timeout) and the client they make. llm_rate_limit's
// `store redis` and llm_auth's shared key store embed Options, so both are configured
// the same way and a fix to one is a fix to both.
//
// It must never log or put in an error a password, and does no network I/O itself
// (go-redis connects lazily), so provisioning cannot hang on a Redis that is down.
package llmredis

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/redis/go-redis/v9"

	cfparse "github.com/llmguard/caddy-llmguard/caddyfile"
)

// DefaultTimeout bounds connecting and each command unless Timeout is set.
const DefaultTimeout = 500 * time.Millisecond

// Options are the connection settings of a Redis server or cluster.
type Options struct {
	// Addresses are host:port of the Redis server, or of cluster nodes. Required.
	Addresses []string `json:"addresses,omitempty"`
	// Cluster uses the Redis Cluster protocol (implied by several addresses).
	Cluster bool `json:"cluster,omitempty"`
	// Username and Password authenticate to Redis; use {env.*} placeholders rather than
	// literal secrets. Default none.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// DB is the database number (single server only). Default 0.
	DB int `json:"db,omitempty"`
	// Timeout bounds connecting and each command. Default 500ms: a gateway that waits
	// longer than that on Redis adds more latency than an outage decision.
	Timeout caddy.Duration `json:"timeout,omitempty"`
}

// ParseOption parses the connection subdirective at d, if d.Val() names one:
//
//	address <host:port>...
//	cluster
//	username <name>
//	password <secret>      # use {env.REDIS_PASSWORD}
//	db <n>
//	timeout <duration>
//
// It reports whether it did; the caller handles its own subdirectives otherwise.
func (o *Options) ParseOption(d *caddyfile.Dispenser) (bool, error) {
	var err error
	switch d.Val() {
	case "address":
		o.Addresses, err = cfparse.Args(d)
	case "cluster":
		if d.NextArg() {
			return true, d.ArgErr()
		}
		o.Cluster = true
	case "username":
		o.Username, err = cfparse.Arg(d)
	case "password":
		o.Password, err = cfparse.Arg(d)
	case "db":
		var v string
		if v, err = cfparse.Arg(d); err == nil {
			if o.DB, err = strconv.Atoi(v); err != nil || o.DB < 0 {
				return true, d.Errf("db must be a number ≥ 0, not '%s'", v)
			}
		}
	case "timeout":
		o.Timeout, err = cfparse.Duration(d)
	default:
		return false, nil
	}
	return true, err
}

// Client is a client made from Options, with what the caller needs to share it.
type Client struct {
	redis.UniversalClient
	// IsCluster is whether the cluster protocol is used: keys then need hash tags.
	IsCluster bool
	// Key identifies the settings (the password only by a hash), for a caddy.UsagePool:
	// configurations with equal settings share one client across reloads.
	Key string
}

// NewClient validates o, applies the default timeout and expands placeholders, and
// returns a client that has not connected yet. go-redis retries are off: a retried
// command during an outage only multiplies the latency every request pays, and each
// user of the client has its own outage policy.
func (o *Options) NewClient() (*Client, error) {
	if len(o.Addresses) == 0 {
		return nil, fmt.Errorf("redis: at least one address is required")
	}
	if o.Timeout <= 0 {
		o.Timeout = caddy.Duration(DefaultTimeout)
	}
	repl := caddy.NewReplacer()
	user, pass := repl.ReplaceAll(o.Username, ""), repl.ReplaceAll(o.Password, "")
	cluster := o.Cluster || len(o.Addresses) > 1
	h := fnv.New64a()
	h.Write([]byte(pass))
	t := time.Duration(o.Timeout)
	c := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: o.Addresses, IsClusterMode: cluster,
		Username: user, Password: pass, DB: o.DB, DialTimeout: t, ReadTimeout: t, WriteTimeout: t, MaxRetries: -1})
	return &Client{UniversalClient: c, IsCluster: cluster,
		Key: fmt.Sprintf("%s|%v|%s|%d|%d|%x", strings.Join(o.Addresses, ","), cluster, user, o.DB, o.Timeout, h.Sum64())}, nil
}

// UnmarshalBlock parses the block of a `store redis { … }` subdirective whose name d has
// just consumed: the connection options (ParseOption) and, through own, the options of
// the store itself (own reports false for a name it does not know). Every subdirective
// may appear once, and an address is required.
func (o *Options) UnmarshalBlock(d *caddyfile.Dispenser, own func(d *caddyfile.Dispenser) (bool, error)) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := cfparse.Seen{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if err := seen.Check(d); err != nil {
			return err
		}
		ok, err := o.ParseOption(d)
		if !ok {
			ok, err = own(d)
		}
		if err != nil {
			return err
		}
		if !ok {
			return d.Errf("unrecognized redis subdirective '%s'", d.Val())
		}
	}
	if len(o.Addresses) == 0 {
		return d.Err("store redis needs an address")
	}
	return nil
}

package llmratelimit

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/llmguard/caddy-llmguard/llmguard/limit"
	"github.com/llmguard/caddy-llmguard/llmguard/limit/limittest"
)

// TestWarnIfVolatile: a real redis-server without persistence draws a warning that names
// the consequence; one with appendonly does not.
func TestWarnIfVolatile(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		warn bool
	}{
		{"no persistence", nil, true},
		{"appendonly", []string{"--appendonly", "yes"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := limittest.StartRedisWith(t, tt.args...)
			c := redis.NewClient(&redis.Options{Addr: srv.Addr, DialTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second})
			t.Cleanup(func() { c.Close() })
			core, logs := observer.New(zap.DebugLevel)
			warnIfVolatile(context.Background(), zap.New(core), limit.NewRedisStore(c, "w:", false))
			warned := logs.FilterLevelExact(zap.WarnLevel).All()
			if tt.warn != (len(warned) == 1) {
				t.Fatalf("warnings %v", warned)
			}
			if tt.warn && !strings.Contains(warned[0].Message, "resets every rate-limit window and budget") {
				t.Fatalf("warning %q does not say what a restart does", warned[0].Message)
			}
		})
	}
}

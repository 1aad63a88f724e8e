package limit

import (
	"context"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/limit/limittest"
)

// TestCheckPersistence runs real redis-servers: none persisting, AOF, RDB snapshots, and
// CONFIG renamed away (as managed services do), where INFO still reveals an AOF.
func TestCheckPersistence(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want Persistence
	}{
		{"nothing persists", nil, Persistence{Known: true}},
		{"appendonly", []string{"--appendonly", "yes"}, Persistence{AOF: true, Known: true}},
		{"snapshots", []string{"--save", "3600 1"}, Persistence{RDB: true, Known: true}},
		{"CONFIG renamed, AOF on", []string{"--appendonly", "yes", "--rename-command", "CONFIG", ""}, Persistence{AOF: true, Known: true}},
		{"CONFIG renamed, no AOF", []string{"--save", "3600 1", "--rename-command", "CONFIG", ""}, Persistence{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := limittest.StartRedisWith(t, tt.args...)
			got, err := newRedis(t, srv, "p:", false).CheckPersistence(context.Background())
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
			if got.Persists() != (tt.want.RDB || tt.want.AOF) {
				t.Fatal("Persists disagrees")
			}
		})
	}
	// An unreachable server is an error, not "does not persist".
	srv := limittest.StartRedis(t)
	s := newRedis(t, srv, "p:", false)
	srv.Stop()
	if _, err := s.CheckPersistence(context.Background()); err == nil {
		t.Fatal("no error from a stopped server")
	}
}

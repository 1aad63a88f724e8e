package llmsentinel

import (
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmguard/caddy-llmguard/llmguard/sentinel"
)

// memPool holds the memory store across config reloads, as llm_rate_limit's does: the
// old and new config overlap during a reload, so learned state is never reset by one.
var memPool = caddy.NewUsagePool()

const memPoolKey = "llm_sentinel.memory"

type memoryHolder struct {
	store *sentinel.MemoryStore
	stop  chan struct{}
}

// Destruct stops the sweeper when the last config using the store is gone.
func (m *memoryHolder) Destruct() error {
	close(m.stop)
	return nil
}

func loadMemory() (*memoryHolder, error) {
	v, _, err := memPool.LoadOrNew(memPoolKey, func() (caddy.Destructor, error) {
		m := &memoryHolder{store: sentinel.NewMemoryStore(), stop: make(chan struct{})}
		go func() {
			// Idle actors are forgotten hourly, so memory follows the active callers.
			t := time.NewTicker(time.Hour)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					m.store.Sweep(clock())
				case <-m.stop:
					return
				}
			}
		}()
		return m, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*memoryHolder), nil
}

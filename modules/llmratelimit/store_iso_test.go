package llmratelimit

import "github.com/llmguard/caddy-llmguard/llmguard/limit"

func newIsolatedStore() limit.Store { return limit.NewMemoryStore() }

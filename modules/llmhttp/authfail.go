package llmhttp

import (
	"context"
	"sync"

	"github.com/llmguard/caddy-llmguard/llmguard/sentinel"
)

// AuthFailureObserver learns of credentials llm_auth refused (llm_sentinel, which runs
// after llm_auth and so never sees those requests itself).
type AuthFailureObserver interface {
	// AuthFailure reports a refused credential from client (Caddy's client IP); credential
	// is a 32-bit fingerprint of it, never the credential.
	AuthFailure(ctx context.Context, client string, credential uint32)
}

var authObservers struct {
	sync.RWMutex
	m map[AuthFailureObserver]struct{}
}

// ObserveAuthFailures registers o until the returned function is called (a handler's
// Cleanup). During a reload the old and the new handler both observe for a moment; they
// share their store, so a failure may count twice then, never not at all.
func ObserveAuthFailures(o AuthFailureObserver) (stop func()) {
	authObservers.Lock()
	if authObservers.m == nil {
		authObservers.m = map[AuthFailureObserver]struct{}{}
	}
	authObservers.m[o] = struct{}{}
	authObservers.Unlock()
	return func() {
		authObservers.Lock()
		delete(authObservers.m, o)
		authObservers.Unlock()
	}
}

// ObservingAuthFailures reports whether anyone listens, so that llm_auth fingerprints a
// refused credential only when it will be used.
func ObservingAuthFailures() bool {
	authObservers.RLock()
	defer authObservers.RUnlock()
	return len(authObservers.m) > 0
}

// ReportAuthFailure tells every observer that credential, sent from client, was refused.
// Only its fingerprint leaves this function.
func ReportAuthFailure(ctx context.Context, client, credential string) {
	authObservers.RLock()
	obs := make([]AuthFailureObserver, 0, len(authObservers.m))
	for o := range authObservers.m {
		obs = append(obs, o)
	}
	authObservers.RUnlock()
	if len(obs) == 0 {
		return
	}
	fp := sentinel.Fingerprint(credential)
	for _, o := range obs {
		o.AuthFailure(ctx, client, fp)
	}
}

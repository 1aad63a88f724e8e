package llmratelimit

import (
	"net/textproto"
	"testing"
)

// TestHeaderNamesCanonical: the names setHeaders assigns directly are what Header.Set
// would have stored (else Header.Get would not find them).
func TestHeaderNamesCanonical(t *testing.T) {
	names := []string{policyHeader, stateHeader}
	for _, unit := range openAIHeaders {
		names = append(names, unit[:]...)
	}
	for _, n := range names {
		if c := textproto.CanonicalMIMEHeaderKey(n); c != n {
			t.Errorf("%q is not canonical (%q)", n, c)
		}
	}
}

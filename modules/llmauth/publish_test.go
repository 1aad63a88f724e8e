package llmauth

import (
	"fmt"
	"testing"
)

// An earlier handler of the route — Caddy's basic_auth, say, which Sets
// {http.auth.user.id} — must not shadow the identity llm_auth publishes: the rate
// limiter keys on {http.auth.user.id} by default and the audit records it as the user.
// llm_auth's values replace what was there, as its Replacer.Set calls did.
func TestPublishReplacesEarlierValues(t *testing.T) {
	alice := newKey(t)
	h := newHandler(t, fmt.Sprintf(`llm_auth {
		api_keys {
			key alice %s {
				tier gold
				metadata team research
			}
		}
	}`, hashOf(alice)))
	res := serve(t, h, "POST", "/v1/chat/completions", chatBody, "",
		withHeader("Authorization", "Bearer "+alice),
		withPlaceholder("http.auth.user.id", "basic-user"),
		withPlaceholder("http.auth.user.team", "ops"),
		withPlaceholder("http.auth.user.realm", "intranet"), // not llm_auth's: kept
		withPlaceholder("http.llm.tier", "free"),
		withPlaceholder("http.llm.key.id", "other"))
	if res.code != 200 {
		t.Fatalf("%d %s", res.code, res.body)
	}
	for k, want := range map[string]string{
		"http.auth.user.id": "alice", "http.auth.user.team": "research", "http.auth.user.realm": "intranet",
		"http.llm.tier": "gold", "http.llm.key.id": "alice",
	} {
		if got, _ := res.repl.GetString(k); got != want {
			t.Errorf("{%s} = %q, want %q", k, got, want)
		}
	}
	// A handler after llm_auth that Sets one still wins, as with Replacer.Set.
	res.repl.Set("http.llm.tier", "override")
	if got, _ := res.repl.GetString("http.llm.tier"); got != "override" {
		t.Errorf("{http.llm.tier} after a later Set = %q, want override", got)
	}
}

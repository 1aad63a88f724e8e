package filter

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/request"
)

// FuzzStream feeds arbitrary text as chat deltas and arbitrary bytes as raw events: the
// filter must never panic, must keep every event well-formed, and for chat text the
// output must equal filtering the whole text at once.
func FuzzStream(f *testing.F) {
	f.Add("mail bob@example.org now", uint64(1), "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n")
	f.Add(corpus, uint64(7), "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":5}}\n\n")
	p := testPolicy(f)
	p.Window = 32
	f.Fuzz(func(t *testing.T, text string, seed uint64, raw string) {
		if !isValidUTF8(text) {
			return
		}
		r := rand.New(rand.NewPCG(seed, seed))
		want, _ := p.Text(text, &Report{})
		out, _ := run(t, NewStream(p, request.KindChat), chatStream(split(r, text, 1+int(seed%9))), r, 1+int(seed%50))
		if got := collect(t, request.KindChat, out).text; got != want {
			t.Fatalf("got %q want %q", got, want)
		}
		for _, k := range []request.Kind{request.KindChat, request.KindMessages, request.KindResponses, request.KindCompletions} {
			_, _ = run(t, NewStream(p, k), raw, r, 1+int(seed%50))
			_, _, _ = p.JSON(k, []byte(strings.TrimPrefix(raw, "data: ")), &Report{})
		}
	})
}

func isValidUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

//go:build eval

package sse

import (
	"bytes"
	"strings"
	"testing"
)

// fixtureDir is where the shared wire recordings live: shared/ sits beside the
// repository root, which is two levels above this package.
const fixtureDir = "../../../shared/data/api-fixtures"

// loadFixtures returns every public .sse recording. It fails (never skips) when they are
// missing, because a green run without them would prove nothing.
func loadFixtures(t testing.TB) map[string][]byte {
	return loadStreams(t, fixtureDir, 10)
}

func TestFixtures(t *testing.T) {
	fx := loadFixtures(t)
	// Expected shape of each recording, counted from the files: number of events, how
	// many are named, whether the last is [DONE], and what remains unterminated.
	type shape struct {
		events, named int
		done          bool
		lastName      string
		pendingPrefix string
	}
	want := map[string]shape{
		"openai-chat-stream-text-usage.sse":                           {34, 0, true, "", ""},
		"openai-chat-stream-tool-call.sse":                            {11, 0, true, "", ""},
		"openai-chat-stream-n3-choices.sse":                           {50, 0, true, "", ""},
		"openai-chat-stream-gpt5-reasoning-usage.sse":                 {4, 0, true, "", ""},
		"groq-chat-stream-tool-call-usage.sse":                        {26, 0, true, "", ""},
		"groq-chat-stream-midstream-error.sse":                        {86, 1, false, "error", ""},
		"openai-responses-stream-text.sse":                            {15, 15, false, "response.completed", ""},
		"openai-responses-stream-reasoning-function-call.sse":         {14, 14, false, "response.completed", ""},
		"anthropic-messages-stream-tool-use.sse":                      {24, 24, false, "message_stop", ""},
		"anthropic-messages-stream-error-overloaded.sse":              {1, 1, false, "error", ""},
		"anthropic-messages-stream-thinking.sse":                      {118, 118, false, "message_stop", ""},
		"anthropic-messages-stream-max-tokens-partial-tool-input.sse": {15, 15, false, "message_delta", "event: message_stop\n"},
	}
	for name, sh := range want {
		body, ok := fx[name]
		if !ok {
			t.Fatalf("fixture %s missing", name)
		}
		for variant, in := range map[string][]byte{"LF": body, "CRLF": toCRLF(body), "CR": toCR(body)} {
			var p Parser
			r := feedChunks(&p, in)
			if r.err != nil {
				t.Fatalf("%s/%s: %v", name, variant, r.err)
			}
			named := 0
			for _, ev := range r.events {
				if ev.Empty {
					t.Fatalf("%s/%s: unexpected empty event %q", name, variant, ev.Raw)
				}
				if ev.Name != "" {
					named++
				}
				if bytes.ContainsAny(ev.Data, "\r\n") {
					t.Fatalf("%s/%s: data spans lines: %q", name, variant, ev.Data)
				}
			}
			last := r.events[len(r.events)-1]
			if len(r.events) != sh.events || named != sh.named || IsDone(last) != sh.done || last.Name != sh.lastName {
				t.Fatalf("%s/%s: %d events (%d named), last %q done=%v", name, variant, len(r.events), named, last.Name, IsDone(last))
			}
			wantPending := strings.NewReplacer("\n", map[string]string{"LF": "\n", "CRLF": "\r\n", "CR": "\r"}[variant]).Replace(sh.pendingPrefix)
			if !bytes.HasPrefix(r.pending, []byte(wantPending)) || (sh.pendingPrefix == "") != (len(r.pending) == 0) {
				t.Fatalf("%s/%s: pending %q", name, variant, r.pending)
			}
			if !bytes.Equal(concatRaw(r), in) {
				t.Fatalf("%s/%s: raw bytes do not reproduce the input", name, variant)
			}
			// Every line-ending variant decodes to the same events as the LF original.
			base := feedChunks(new(Parser), body).events
			for i := range base {
				if base[i].Name != r.events[i].Name || !bytes.Equal(base[i].Data, r.events[i].Data) {
					t.Fatalf("%s/%s: event %d differs from LF", name, variant, i)
				}
			}
		}
	}
	// A specific payload, to be sure data is handed over intact.
	r := feedChunks(new(Parser), fx["anthropic-messages-stream-error-overloaded.sse"])
	if got := string(r.events[0].Data); got != `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}` {
		t.Fatalf("data %q", got)
	}
	// Flush delivers the unterminated message_stop of the truncated recording.
	p := new(Parser)
	feedChunks(p, fx["anthropic-messages-stream-max-tokens-partial-tool-input.sse"])
	var last *Event
	if err := p.Flush(func(ev *Event) error { last = ev.Clone(); return nil }); err != nil || last == nil ||
		last.Name != "message_stop" || !strings.HasPrefix(string(last.Data), `{"type":"message_stop"`) {
		t.Fatalf("flush: %v %+v", err, last)
	}
}

// TestRandomSplits runs the split property test (testdata_test.go) over the public
// provider recordings.
func TestRandomSplits(t *testing.T) {
	checkRandomSplits(t, loadFixtures(t))
}

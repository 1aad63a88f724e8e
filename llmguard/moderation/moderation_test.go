package moderation

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/detect/remote"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"violence/graphic": Violence, "self-harm/instructions": SelfHarm, "sexual/minors": SexualMinors,
		"S1": Violence, "s4": SexualMinors, "S9": Weapons, "S14": Malware, "illicit/violent": Weapons,
		"Hate/Threatening": Hate, "toxic": Harassment, "whatever": Other, "malware": Malware,
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDecide(t *testing.T) {
	p := Policy{Rules: map[string]Rule{
		Violence:   {Action: ActionBlock, Threshold: 0.8},
		Harassment: {Action: ActionLog},
		Sexual:     {Action: ActionAllow},
	}}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	// Moderation endpoint: a threshold overrides the classifier's own flag.
	d := p.Decide(remote.Verdict{Flagged: true, Categories: []string{"violence", "harassment", "sexual"},
		Scores: map[string]float64{"violence": 0.6, "violence/graphic": 0.2, "harassment": 0.9, "sexual": 0.99, "hate": 0.1}})
	if d.Block || fmt.Sprint(d.Categories("")) != "[harassment]" {
		t.Fatalf("%+v", d)
	}
	d = p.Decide(remote.Verdict{Scores: map[string]float64{"violence/graphic": 0.85}})
	if !d.Block || fmt.Sprint(d.Categories(ActionBlock)) != "[violence]" || d.Hits[0].Score != 0.85 {
		t.Fatalf("%+v", d)
	}
	// Guard model: codes without scores score 1; a bare "unsafe" is other (blocked by default).
	d = p.Decide(remote.Verdict{Flagged: true, Categories: []string{"S1", "S10"}})
	if !d.Block || fmt.Sprint(d.Categories(ActionBlock)) != "[hate violence]" {
		t.Fatalf("%+v", d)
	}
	if d = p.Decide(remote.Verdict{Flagged: true}); !d.Block || fmt.Sprint(d.Categories("")) != "[other]" {
		t.Fatalf("%+v", d)
	}
	if d = p.Decide(remote.Verdict{}); d.Block || len(d.Hits) != 0 {
		t.Fatalf("%+v", d)
	}
	for _, bad := range []Policy{
		{Rules: map[string]Rule{"gore": {}}},
		{Rules: map[string]Rule{Hate: {Action: "redact"}}},
		{Default: Rule{Threshold: 2}},
	} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// chunks renders a chat completion stream of text, n bytes per event.
func chunks(text string, n int) []string {
	var evs []string
	evs = append(evs, `data: {"choices":[{"index":0,"delta":{"role":"assistant"}}]}`+"\n\n")
	for i := 0; i < len(text); i += n {
		part := text[i:min(i+n, len(text))]
		evs = append(evs, `data: {"choices":[{"index":0,"delta":{"content":"`+part+`"}}]}`+"\n\n")
	}
	return append(evs, "data: [DONE]\n\n")
}

// keyword flags any text containing "kill" as violence; calls records what it saw.
func keyword(calls *[]string) Classify {
	p := &Policy{}
	return func(text string) (Decision, error) {
		*calls = append(*calls, text)
		if strings.Contains(text, "kill") {
			return p.Decide(remote.Verdict{Flagged: true, Categories: []string{"S1"}}), nil
		}
		return Decision{}, nil
	}
}

// run feeds the events and returns what was released and whether the stream was cut.
func run(s *Stream, evs []string) (string, bool) {
	var out strings.Builder
	for _, ev := range evs {
		rel, ok := s.Write([]byte(ev))
		out.Write(rel)
		if !ok {
			return out.String(), true
		}
	}
	rel, ok := s.Close(nil)
	out.Write(rel)
	return out.String(), !ok
}

// TestStreamClean: a clean stream is released byte for byte, in windows.
func TestStreamClean(t *testing.T) {
	text := strings.Repeat("All is well here. ", 20)
	for _, n := range []int{1, 3, 7, 50, 1000} {
		var calls []string
		s := &Stream{Kind: request.KindChat, Window: 64, Classify: keyword(&calls)}
		evs := chunks(text, n)
		got, cut := run(s, evs)
		if cut || got != strings.Join(evs, "") {
			t.Fatalf("n=%d: cut %v, got %q", n, cut, got)
		}
		// At most one call per window of text, plus the end.
		if len(calls) < 1 || len(calls) > len(text)/64+1 {
			t.Errorf("n=%d: %d calls for %d bytes", n, len(calls), len(text))
		}
	}
}

// TestStreamCut: a flagged word anywhere — split across events and across windows — cuts
// the stream; the client has only text from windows classified clean, and never the word.
func TestStreamCut(t *testing.T) {
	prefix := strings.Repeat("Once upon a time. ", 10) // 180 bytes
	for _, n := range []int{1, 2, 3, 5, 13, 64, 500} {
		for shift := 0; shift < 70; shift += 7 {
			text := prefix[:len(prefix)-shift] + "then kill them all. " + strings.Repeat("More. ", 20)
			var calls []string
			s := &Stream{Kind: request.KindChat, Window: 64, Classify: keyword(&calls)}
			got, cut := run(s, chunks(text, n))
			if !cut || strings.Contains(got, "kill") || strings.Contains(got, "ki") && strings.Contains(got, `"ll`) {
				t.Fatalf("n=%d shift=%d: cut %v, got %q", n, shift, cut, got)
			}
			if !s.Ended() || s.Unavailable() || fmt.Sprint(s.Decision.Categories("")) != "[violence]" {
				t.Fatalf("n=%d: %+v", n, s.Decision)
			}
			// What was released is a prefix of the stream's text.
			var seen strings.Builder
			for _, ev := range strings.SplitAfter(got, "\n\n") {
				if ev != "" {
					seen.WriteString(EventText(request.KindChat, []byte(strings.TrimPrefix(strings.TrimSpace(ev), "data: "))))
				}
			}
			if !strings.HasPrefix(text, seen.String()) || strings.Contains(seen.String(), "kill") {
				t.Fatalf("n=%d: released %q", n, seen.String())
			}
		}
	}
}

// TestStreamWindowContext: a phrase split across two windows is classified whole, as
// each call carries the previous window.
func TestStreamWindowContext(t *testing.T) {
	var calls []string
	s := &Stream{Kind: request.KindChat, Window: 10, Classify: keyword(&calls)}
	_, cut := run(s, chunks("aaaaaaaaki"+"llbbbbbbbb", 10))
	if !cut {
		t.Fatalf("not cut; calls %q", calls)
	}
}

func TestStreamFailMode(t *testing.T) {
	failing := func(string) (Decision, error) { return Decision{}, errors.New("down") }
	evs := chunks("hello there, friend", 4)
	s := &Stream{Kind: request.KindChat, Window: 8, Classify: failing}
	// Fail closed: only the text-less role event got out, no generated text.
	if got, cut := run(s, evs); !cut || got != evs[0] || !s.Unavailable() {
		t.Fatalf("fail closed: cut %v got %q", cut, got)
	}
	s = &Stream{Kind: request.KindChat, Window: 8, Classify: failing, FailOpen: true}
	if got, cut := run(s, evs); cut || got != strings.Join(evs, "") || s.Failed == 0 {
		t.Fatalf("fail open: cut %v got %q", cut, got)
	}
}

func TestEventText(t *testing.T) {
	for _, tc := range []struct {
		kind request.Kind
		data string
		want string
	}{
		{request.KindChat, `{"choices":[{"delta":{"content":"a"}},{"delta":{"tool_calls":[{"function":{"arguments":"b"}}]}}]}`, "ab"},
		{request.KindMessages, `{"type":"content_block_delta","delta":{"type":"text_delta","text":"c"}}`, "c"},
		{request.KindResponses, `{"type":"response.output_text.delta","delta":"d"}`, "d"},
		{request.KindResponses, `{"type":"response.output_text.done","text":"dd"}`, ""},
	} {
		if got := EventText(tc.kind, []byte(tc.data)); got != tc.want {
			t.Errorf("%s %s: %q", tc.kind, tc.data, got)
		}
	}
}

func FuzzText(f *testing.F) {
	f.Add(`{"choices":[{"message":{"content":"hi"},"delta":{"content":"x"}}]}`)
	f.Add(`{"type":"content_block_delta","delta":{"text":"c"},"content":[{"text":1}]}`)
	f.Add(`{"output":[{"content":[null,{"text":"x"}]}],"type":"a.delta","delta":"d"}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		for k := request.KindChat; k <= request.KindMessages; k++ {
			_ = EventText(k, []byte(s))
		}
	})
}

// TestStreamStartsAtOnce: events without generated text (the role event) are released
// as they come, so moderation does not delay the stream's first byte; the first text
// waits for its window.
func TestStreamStartsAtOnce(t *testing.T) {
	var calls []string
	s := &Stream{Kind: request.KindChat, Window: 64, Classify: keyword(&calls)}
	evs := chunks("All is well here.", 4)
	if out, ok := s.Write([]byte(evs[0])); !ok || string(out) != evs[0] {
		t.Fatalf("role event held: %q", out)
	}
	if out, ok := s.Write([]byte(evs[1])); !ok || len(out) != 0 || len(calls) != 0 {
		t.Fatalf("text released before its window was classified: %q", out)
	}
}

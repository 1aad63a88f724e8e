package request

import (
	"encoding/json"
	"testing"
)

// FuzzParse checks that no body makes the parser panic, that it accepts only bodies
// encoding/json also accepts, and that rewriting every segment to itself re-parses to the
// same segments.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"text","text":"a\u00e9\ud83d\ude00"}]}],"stream":true}`,
		`{"model":"claude","max_tokens":5,"system":"s","messages":[{"role":"user","content":[{"type":"tool_result","content":"r"}]}]}`,
		`{"model":"gpt-5","input":[{"role":"user","content":"x"},{"type":"function_call","arguments":"{}"}]}`,
		`{"model":"e","input":[[1,2],[3]]}`,
		`{"model":"m","prompt":"p","max_tokens":1e2}`,
	} {
		for k := KindChat; k <= KindMessages; k++ {
			f.Add(uint8(k), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, k uint8, body []byte) {
		kind := Kind(k%uint8(KindModels)) + 1
		r, err := Parse(kind, body)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		repl := make(map[int]string, len(r.Segments))
		for i, s := range r.Segments {
			repl[i] = s.Text
		}
		out, err := r.Rewrite(repl)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := Parse(kind, out)
		if err != nil {
			t.Fatalf("rewritten body does not parse: %v", err)
		}
		if len(r2.Segments) != len(r.Segments) {
			t.Fatalf("segments %d -> %d", len(r.Segments), len(r2.Segments))
		}
		for i := range r.Segments {
			if r.Segments[i].Text != r2.Segments[i].Text || r.Segments[i].Path != r2.Segments[i].Path {
				t.Fatalf("segment %d changed: %q -> %q", i, r.Segments[i].Text, r2.Segments[i].Text)
			}
		}
	})
}

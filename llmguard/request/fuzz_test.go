package request

import (
	"encoding/json"
	"testing"
)

// FuzzParse checks that no body makes the parser panic, that it accepts only bodies
// encoding/json also accepts, and that rewriting every segment to itself re-parses to the
// same segments.
func FuzzParse(f *testing.F) {
	addSeeds(f,
		`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"text","text":"a\u00e9\ud83d\ude00"}]}],"stream":true}`,
		`{"model":"claude","max_tokens":5,"system":"s","messages":[{"role":"user","content":[{"type":"tool_result","content":"r"}]}]}`,
		`{"model":"claude","max_tokens":5,"messages":[{"role":"user","content":[{"type":"document","title":"t","context":null,"source":{"type":"text","media_type":"text/plain","data":"d\u00e9"}},{"type":"document","source":{"type":"content","content":[{"type":"text","text":"c"},{"type":"image","source":{}}]}}]}]}`,
		`{"model":"claude","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","content":[{"type":"search_result","source":"s","title":"t","content":[{"type":"text","text":"r"}]},{"type":"document","source":{"type":"content","content":"x"}}]}]}]}`,
		`{"model":"gpt-5","input":[{"role":"user","content":"x"},{"type":"function_call","arguments":"{}"}]}`,
		`{"model":"e","input":[[1,2],[3]]}`,
		`{"model":"m","prompt":"p","max_tokens":1e2}`,
	)
	f.Fuzz(func(t *testing.T, k uint8, body []byte) {
		kind := fuzzKind(k)
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

// FuzzParseAgreesWithEncodingJSON is the parser-differential guard: for every body the
// gateway accepts, encoding/json (the reading of most upstream SDKs and servers) sees the
// same model, the same stream flag and the same output allowance. A disagreement would let
// a client be authorised, counted and priced for one request while the upstream serves
// another.
func FuzzParseAgreesWithEncodingJSON(f *testing.F) {
	big := `{"a0":0,"a1":1,"a2":2,"a3":3,"a4":4,"a5":5,"a6":6,"a7":7,"a8":8,"a9":9,"b0":0,"b1":1,"b2":2,"b3":3,"b4":4,"b5":5,`
	addSeeds(f,
		`{"model":"gpt-4o","stream":true,"max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`,
		big+`"model":"gpt-4o","max_completion_tokens":7,"messages":[{"role":"user","content":"hi"}]}`,
		big+`"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"model":"o3"}`,
		`{"model":"a","mod\u0065l":"b","messages":[{"role":"user","content":"x"}]}`,
		`{"model":"claude","max_tokens":1e2,"stream":null,"messages":[{"role":"user","content":"x"}]}`,
		`{"model":"gpt-5","input":"x","max_output_tokens":3,"stream":false}`,
		`{"model":"m","prompt":"p","max_tokens":10}`,
	)
	f.Fuzz(func(t *testing.T, k uint8, body []byte) {
		kind := fuzzKind(k)
		r, err := Parse(kind, body)
		if err != nil {
			return
		}
		var std map[string]json.RawMessage
		if err := json.Unmarshal(body, &std); err != nil {
			t.Fatalf("accepted a body encoding/json refuses: %v", err)
		}
		var model string
		if json.Unmarshal(std["model"], &model) != nil || model != r.Model {
			t.Fatalf("model: gateway %q, encoding/json %s", r.Model, std["model"])
		}
		var stream *bool
		if raw, ok := std["stream"]; ok && json.Unmarshal(raw, &stream) != nil {
			t.Fatalf("stream: encoding/json cannot read %s", raw)
		}
		if (stream != nil && *stream) != r.Stream {
			t.Fatalf("stream: gateway %v, encoding/json %s", r.Stream, std["stream"])
		}
		// The allowance is the first non-null field of the API's list (the APIs' own rule).
		want, wantN := "", float64(0)
		for _, field := range allowanceFields[kind] {
			if raw, ok := std[field]; ok && string(raw) != "null" {
				if json.Unmarshal(raw, &wantN) != nil {
					t.Fatalf("%s: encoding/json cannot read %s", field, raw)
				}
				want = field
				break
			}
		}
		if r.MaxOutputField != want || float64(r.MaxOutputTokens) != wantN {
			t.Fatalf("allowance: gateway %s=%d, encoding/json %s=%v", r.MaxOutputField, r.MaxOutputTokens, want, wantN)
		}
	})
}

// allowanceFields lists, per API, the fields that carry the output allowance in the
// order the API prefers them (OpenAI chat: max_completion_tokens replaces max_tokens).
var allowanceFields = map[Kind][]string{
	KindChat:        {"max_completion_tokens", "max_tokens"},
	KindCompletions: {"max_tokens"},
	KindResponses:   {"max_output_tokens"},
	KindMessages:    {"max_tokens"},
}

// addSeeds adds every body as a seed for every API kind that has a request body.
func addSeeds(f *testing.F, bodies ...string) {
	for _, s := range bodies {
		for k := KindChat; k <= KindMessages; k++ {
			f.Add(uint8(k), []byte(s))
		}
	}
}

// fuzzKind maps a fuzzed byte onto the request kinds.
func fuzzKind(k uint8) Kind { return Kind(k%uint8(KindModels)) + 1 }

package request

import (
	"encoding/json"
	"testing"
)

func TestApplyFieldsAndSegments(t *testing.T) {
	body := `{"model":"gpt-4o", "max_tokens": 4096 ,"messages":[{"role":"user","content":"a@b.c"}]}`
	r, err := Parse(KindChat, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.Apply(Edit{
		Segments: map[int]string{0: "[EMAIL_ADDRESS_1]"},
		Fields:   map[string]json.RawMessage{"max_tokens": json.RawMessage("256"), "stream_options": json.RawMessage(`{"include_usage":true}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"stream_options":{"include_usage":true},"model":"gpt-4o", "max_tokens": 256 ,"messages":[{"role":"user","content":"[EMAIL_ADDRESS_1]"}]}`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
	r2, err := Parse(KindChat, out)
	if err != nil || r2.MaxOutputTokens != 256 || !r2.IncludeUsage {
		t.Fatalf("reparse: %+v %v", r2, err)
	}
	if _, err := r.Apply(Edit{Fields: map[string]json.RawMessage{"x": json.RawMessage("{")}}); err == nil {
		t.Error("invalid raw JSON accepted")
	}
}

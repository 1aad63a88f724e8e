package filter

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/request"
)

// Clean responses reach the client byte for byte: key order, whitespace, escapes and
// number spellings are the upstream's (CONVENTIONS 18).
func TestJSONCleanIsByteExact(t *testing.T) {
	bodies := []struct {
		kind request.Kind
		body string
	}{
		{request.KindChat, `{"usage":{"total_tokens":1.0e3,"prompt_tokens":-0.0},"choices":[{"message":{"content":"caf\u00e9 \ud83d\ude00 \/ \"ok\"","role":"assistant"},"index":0,"finish_reason":"stop"}],"id":"z","object":"chat.completion"}`},
		{request.KindChat, "{\n  \"id\" : \"x\",\r\n\t\"choices\" : [ { \"index\" : 0 , \"message\" : { \"content\" : \"hello <b>&amp;</b> \u2028\" } } ] ,\n \"created\":1700000000000000000000 }\n"},
		{request.KindMessages, `{"type":"message","content":[{"type":"text","text":"Bonjour \u00E0 tous"},{"type":"tool_use","input":{"z":[1E2,true,null,{"b":"\u0041"}],"a":"x"}}],"usage":{"output_tokens":12}}`},
		{request.KindResponses, `{"output":[{"type":"message","content":[{"type":"output_text","text":"plain \t text"}]},{"type":"function_call","arguments":"{\"q\": 1}"}],"id":"r"}`},
		{request.KindCompletions, `{"choices":[{"text":"\u00e9t\u00e9","index":0}],"z":{}, "a":[]}`},
	}
	p := blockPolicy(t)
	for _, tc := range bodies {
		var rep Report
		out, blocked, err := p.JSON(tc.kind, []byte(tc.body), &rep)
		if err != nil || blocked {
			t.Fatalf("%s: err %v blocked %v", tc.body, err, blocked)
		}
		if !bytes.Equal(out, []byte(tc.body)) {
			t.Errorf("clean body changed:\n got %s\nwant %s", out, tc.body)
		}
	}
}

// An edit re-encodes only the edited string: every other byte stays as sent.
func TestJSONEditSplicesOnlyTheString(t *testing.T) {
	body := `{"usage":{"total_tokens":1.0e3}, "choices":[{"message":{"role":"assistant","content":"mail bob@example.org \u00e9"},"index":0}],"id":"z"}`
	want := `{"usage":{"total_tokens":1.0e3}, "choices":[{"message":{"role":"assistant","content":"mail [REDACTED:EMAIL_ADDRESS] é"},"index":0}],"id":"z"}`
	out, blocked, err := blockPolicy(t).JSON(request.KindChat, []byte(body), &Report{})
	if err != nil || blocked {
		t.Fatal(err, blocked)
	}
	if string(out) != want {
		t.Fatalf("got  %s\nwant %s", out, want)
	}
}

// Clean SSE events pass byte for byte (CRLF line ends, comments, multi-line data, id and
// event fields, unusual key order and numbers): the role, finish, usage and [DONE]
// events carry no text to hold back.
func TestStreamCleanIsByteExact(t *testing.T) {
	raw := ": keep-alive\r\n\r\n" +
		"event: x\r\nid: 7\r\ndata: {\"id\":\"c\",\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"index\":0}]}\r\n\r\n" +
		": comment\ndata: {\"choices\":[{\"index\":0,\r\ndata: \"delta\":{\"content\":\"\"}}],  \"id\":\"c\"}\n\n" +
		"data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"completion_tokens\":1.0e0,\"x\":\"\\u00e9\"}}\r\n\r\n" +
		"data: [DONE]\n\n"
	for _, chunk := range []int{1, 7, len(raw)} {
		out, ended := run(t, NewStream(blockPolicy(t), request.KindChat), raw, rand.New(rand.NewPCG(1, 1)), chunk)
		if ended || out != raw {
			t.Fatalf("chunk %d: clean stream changed (ended %v):\n got %q\nwant %q", chunk, ended, out, raw)
		}
	}
}

// A text event whose tail is held back is an edit of that one string: the rest of the
// event (other members, their order, numbers, escapes) is forwarded as sent, also across
// a CRLF split between reads.
func TestStreamHeldTextSplicesOnlyTheString(t *testing.T) {
	held := "data: {\"z\":1.0e3,\"choices\":[{\"delta\":{\"content\":\"Hello wor\"},\"index\":0}]}\r\n\r\n" +
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ld \\u00e9t\\u00e9\"}}],\"z\":2}\r\n\r\n" +
		"data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
	want := "data: {\"z\":1.0e3,\"choices\":[{\"delta\":{\"content\":\"Hello\"},\"index\":0}]}\n\n" +
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" world\"}}],\"z\":2}\n\n" +
		"data: {\"choices\":[{\"delta\":{\"content\":\" été\"},\"finish_reason\":null,\"index\":0}],\"id\":\"c\"}\n\n" +
		"data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
	for _, chunk := range []int{1, len(held)} {
		out, _ := run(t, NewStream(blockPolicy(t), request.KindChat), held, rand.New(rand.NewPCG(1, 1)), chunk)
		// A rewritten event ends in LF; the LF of a CRLF split across reads is kept, which
		// leaves an empty line (nothing in SSE) after it.
		if got := strings.ReplaceAll(strings.ReplaceAll(out, "\r\n", "\n"), "\n\n\n", "\n\n"); got != want {
			t.Fatalf("chunk %d:\n got %q\nwant %q", chunk, out, want)
		}
	}
}

// FuzzEdited checks the splice against re-encoding: for any JSON object, edited with no
// change returns the body itself (or, with repeated keys, the decoded form), and with
// every string changed it returns bytes that decode to exactly the edited value.
func FuzzEdited(f *testing.F) {
	for _, s := range []string{`{"a":"x","b":[1.0e3,"y",{"c":"\u00e9"}]}`, `{ "a" : "x" , "a":"y"}`, `{"a":{},"b":[],"c":null,"d":true}`, "{\"a\":\"\xff\"}", `{"a":"\ud800"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, ok := decode(body)
		if !ok {
			return
		}
		out := edited(body, m)
		if !bytes.Equal(out, body) {
			if m2, ok := decode(out); !ok || !reflect.DeepEqual(m2, m) {
				t.Fatalf("unchanged value re-encoded to a different one: %s -> %s", body, out)
			}
		}
		mark(m)
		out = edited(body, m)
		m2, ok := decode(out)
		if !ok || !reflect.DeepEqual(m2, m) {
			t.Fatalf("edit lost: %s -> %s", body, out)
		}
	})
}

// mark changes every string in v in place.
func mark(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if s, ok := e.(string); ok {
				t[k] = s + "\"!"
			} else {
				mark(e)
			}
		}
	case []any:
		for i, e := range t {
			if s, ok := e.(string); ok {
				t[i] = s + "\"!"
			} else {
				mark(e)
			}
		}
	}
}

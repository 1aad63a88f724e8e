package filter

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/sse"
)

func TestJSON(t *testing.T) {
	v := detect.NewVault()
	ph := v.Placeholder("EMAIL_ADDRESS", "me@corp.example")
	tests := []struct {
		name  string
		kind  request.Kind
		body  string
		want  []string // substrings of the output
		block bool
	}{
		{"chat", request.KindChat, `{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"mail bob@example.org <ok> or ` + ph + `","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"ip\":\"10.1.2.3\"}"}}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1.0e1}}`,
			[]string{`mail [REDACTED:EMAIL_ADDRESS] <ok> or me@corp.example`, `{\"ip\":\"[REDACTED:IP_ADDRESS]\"}`, `1.0e1`}, false},
		{"completions", request.KindCompletions, `{"choices":[{"text":"call 536-22-8726"}]}`, []string{`call [REDACTED:US_SSN]`}, false},
		{"responses", request.KindResponses, `{"output":[{"type":"message","content":[{"type":"output_text","text":"x bob@example.org"}]},{"type":"function_call","arguments":"{\"a\":\"bob@example.org\"}"}]}`,
			[]string{`x [REDACTED:EMAIL_ADDRESS]`, `{\"a\":\"[REDACTED:EMAIL_ADDRESS]\"}`}, false},
		{"anthropic", request.KindMessages, `{"type":"message","content":[{"type":"text","text":"hi bob@example.org"},{"type":"tool_use","input":{"to":["bob@example.org"],"n":1}}]}`,
			[]string{`hi [REDACTED:EMAIL_ADDRESS]`, `"to":["[REDACTED:EMAIL_ADDRESS]"]`}, false},
		{"block", request.KindChat, `{"choices":[{"message":{"content":"AKIAQWERTYUIOPASDFGH"}}]}`, nil, true},
		{"upstream error", request.KindChat, `{"error":{"message":"bob@example.org"}}`, []string{`bob@example.org`}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := blockPolicy(t)
			p.Vault = v
			var rep Report
			out, blocked, err := p.JSON(tc.kind, []byte(tc.body), &rep)
			if err != nil || blocked != tc.block {
				t.Fatalf("blocked %v err %v", blocked, err)
			}
			if tc.block {
				if rep.Blocked != "AWS_ACCESS_KEY" {
					t.Fatalf("report %+v", rep)
				}
				return
			}
			if !json.Valid(out) {
				t.Fatalf("invalid JSON %s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("%s lacks %s", out, w)
				}
			}
		})
	}
	if _, _, err := blockPolicy(t).JSON(request.KindChat, []byte(`[1]`), &Report{}); err == nil {
		t.Fatal("want an error for a non-object body")
	}
}

// TestResponsesStream: deltas are filtered, and the ".done" snapshots agree with them.
func TestResponsesStream(t *testing.T) {
	p := testPolicy(t)
	var b strings.Builder
	ev := func(v map[string]any) {
		d, _ := json.Marshal(v)
		b.Write(sse.AppendEvent(nil, sse.NewEvent(v["type"].(string), d)))
	}
	text := "Write to alice.smith@example.com " + strings.Repeat("now ", 70) + "end"
	for _, c := range split(rand.New(rand.NewPCG(4, 4)), text, 3) {
		ev(map[string]any{"type": "response.output_text.delta", "item_id": "i", "output_index": 0, "content_index": 0, "delta": c})
	}
	ev(map[string]any{"type": "response.output_text.done", "item_id": "i", "output_index": 0, "content_index": 0, "text": text})
	ev(map[string]any{"type": "response.completed", "response": map[string]any{"output": []any{map[string]any{"type": "message", "content": []any{map[string]any{"type": "output_text", "text": text}}}}}})
	out, _ := run(t, NewStream(p, request.KindResponses), b.String(), rand.New(rand.NewPCG(1, 1)), 80)
	want, _ := p.Text(text, &Report{})
	if got := collect(t, request.KindResponses, out).text; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
	if strings.Contains(out, "alice.smith") || strings.Count(out, "[REDACTED:EMAIL_ADDRESS]") != 3 {
		t.Fatalf("snapshots not filtered: %s", out)
	}
}

// TestEncodeMatchesEncodingJSON: the event encoder agrees with encoding/json (without
// HTML escaping) on decoded values, including escapes and invalid UTF-8.
func TestEncodeMatchesEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`{"a":"x\"y\\z\n\t\r\u0001 <b>&","n":1.50e3,"b":[true,false,null,{"c":"é日本\u2028"}],"e":{}}`,
		"{\"bad\":\"\xff\xfe ok\"}",
	} {
		m, ok := decode([]byte(in))
		if !ok {
			t.Fatalf("decode %q", in)
		}
		var want strings.Builder
		e := json.NewEncoder(&want)
		e.SetEscapeHTML(false)
		_ = e.Encode(m)
		if got := string(encode(m)); got != strings.TrimSuffix(want.String(), "\n") {
			t.Errorf("got  %s\nwant %s", got, want.String())
		}
	}
}

// TestResponsesReasoningAndSequence: reasoning text and summary deltas are filtered like
// output text, and events synthesized to release held text are numbered in sequence with
// the upstream's events shifted after them, so sequence_number stays 0, 1, 2, … .
func TestResponsesReasoningAndSequence(t *testing.T) {
	p := testPolicy(t)
	var b strings.Builder
	seq := 0
	ev := func(v map[string]any) {
		v["sequence_number"] = seq
		seq++
		d, _ := json.Marshal(v)
		b.Write(sse.AppendEvent(nil, sse.NewEvent(v["type"].(string), d)))
	}
	summary := "The user mailed bob@example.org " + strings.Repeat("so ", 10) + "done"
	reasoning := "Check 536-22-8726 twice"
	answer := "Sure, alice@example.com"
	ev(map[string]any{"type": "response.created", "response": map[string]any{}})
	for _, c := range split(rand.New(rand.NewPCG(5, 5)), summary, 4) {
		ev(map[string]any{"type": "response.reasoning_summary_text.delta", "item_id": "r", "output_index": 0, "summary_index": 0, "delta": c})
	}
	ev(map[string]any{"type": "response.reasoning_summary_text.done", "item_id": "r", "output_index": 0, "summary_index": 0, "text": summary})
	for _, c := range split(rand.New(rand.NewPCG(6, 6)), reasoning, 4) {
		ev(map[string]any{"type": "response.reasoning_text.delta", "item_id": "r", "output_index": 0, "content_index": 0, "delta": c})
	}
	ev(map[string]any{"type": "response.reasoning_text.done", "item_id": "r", "output_index": 0, "content_index": 0, "text": reasoning})
	for _, c := range split(rand.New(rand.NewPCG(7, 7)), answer, 4) {
		ev(map[string]any{"type": "response.output_text.delta", "item_id": "m", "output_index": 1, "content_index": 0, "delta": c})
	}
	ev(map[string]any{"type": "response.output_text.done", "item_id": "m", "output_index": 1, "content_index": 0, "text": answer})
	ev(map[string]any{"type": "response.completed", "response": map[string]any{"output": []any{
		map[string]any{"type": "reasoning", "summary": []any{map[string]any{"type": "summary_text", "text": summary}}, "content": []any{map[string]any{"type": "reasoning_text", "text": reasoning}}},
		map[string]any{"type": "message", "content": []any{map[string]any{"type": "output_text", "text": answer}}}}}})
	out, _ := run(t, NewStream(p, request.KindResponses), b.String(), rand.New(rand.NewPCG(1, 1)), 50)
	for _, secret := range []string{"bob@example.org", "536-22-8726", "alice@example.com"} {
		if strings.Contains(out, secret) {
			t.Fatalf("%s not filtered: %s", secret, out)
		}
	}
	lanes := map[string]string{}
	want := 0
	for _, block := range strings.Split(strings.TrimSpace(out), "\n\n") {
		var data string
		for _, line := range strings.Split(block, "\n") {
			if d, ok := strings.CutPrefix(line, "data: "); ok {
				data = d
			}
		}
		var m struct {
			Type  string
			Delta string
			Seq   int `json:"sequence_number"`
		}
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			t.Fatalf("event %q: %v", block, err)
		}
		if m.Seq != want {
			t.Fatalf("event %d has sequence_number %d: %s", want, m.Seq, out)
		}
		want++
		lanes[m.Type] += m.Delta
	}
	if want <= seq {
		t.Fatalf("no event was synthesized (%d events in, %d out); the test proves nothing", seq, want)
	}
	for typ, text := range map[string]string{"response.reasoning_summary_text.delta": summary, "response.reasoning_text.delta": reasoning, "response.output_text.delta": answer} {
		if w, _ := p.Text(text, &Report{}); lanes[typ] != w {
			t.Errorf("%s: %q, want %q", typ, lanes[typ], w)
		}
	}
}

// TestResponsesErrorEventRenumbered: text released before an upstream error event takes
// the error's place in the sequence, and the error follows it.
func TestResponsesErrorEventRenumbered(t *testing.T) {
	var b strings.Builder
	for i, v := range []map[string]any{
		{"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "held bob"},
		{"type": "error", "code": "server_error", "message": "boom"},
	} {
		v["sequence_number"] = i
		d, _ := json.Marshal(v)
		b.Write(sse.AppendEvent(nil, sse.NewEvent(v["type"].(string), d)))
	}
	out, _ := run(t, NewStream(testPolicy(t), request.KindResponses), b.String(), rand.New(rand.NewPCG(1, 1)), 1000)
	var seqs []int
	for _, block := range strings.Split(strings.TrimSpace(out), "\n\n") {
		for _, line := range strings.Split(block, "\n") {
			if d, ok := strings.CutPrefix(line, "data: "); ok {
				var m struct {
					Seq int `json:"sequence_number"`
				}
				json.Unmarshal([]byte(d), &m)
				seqs = append(seqs, m.Seq)
			}
		}
	}
	if fmt.Sprint(seqs) != "[0 1 2]" || !strings.Contains(out, "boom") {
		t.Fatalf("sequence %v in %s", seqs, out)
	}
}

package filter

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
)

// corpus mixes prose with values the default detectors catch, some near each other,
// some spanning spaces, some multibyte text.
var corpus = strings.Join([]string{
	"Sure! You can reach Alice at alice.smith@example.com or call +1 415 555 0132 tomorrow.",
	"Her card 4111 1111 1111 1111 expired; the IBAN is DE89 3704 0044 0532 0130 00 — données sûres? 日本語のテキスト.",
	"Use the key AKIAQWERTYUIOPASDFGH with token ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5 in CI.",
	"Server 10.20.30.40 answers; SSN 078-05-1120 must never appear.",
	strings.Repeat("Plain filler text without anything sensitive in it at all. ", 8),
	"Last: bob@example.org,carol@example.net and again alice.smith@example.com.",
	"Config: password = hunter2secret, IBAN GB82 WEST 1234 5698 7654 32, key sk-proj-aB3dE5fG7hJ9kL1mN3 and",
	"call (415) 555-0132 or curl -u admin:S3cretPassw0rd https://api.example.com now.",
}, " ")

// longValues are longer than the smallest windows tested: a value is only guaranteed to
// be caught when it is shorter than the window.
var longValues = strings.Join([]string{
	" Key sk-proj-aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5bC7dE9fG1hJ3kL5 and",
	"jwt eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c;",
	"-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\n-----END RSA PRIVATE KEY-----",
	"is it. Authorization: Bearer Zx8Qw2Er4Ty6Ui8Op0As2Df4\n",
}, " ")

// TestPropertyChunking: for random splits of the generated text into deltas (down to one
// byte) and of the stream into network chunks (down to one byte), the text the client
// assembles equals filtering the whole text at once.
func TestPropertyChunking(t *testing.T) {
	p := testPolicy(t)
	for _, w := range []int{0, 64, 300} {
		p.Window = w
		corpus := corpus
		if w != 64 {
			corpus += longValues
		}
		var ref Report
		want, blocked := p.Text(corpus, &ref)
		if blocked || want == corpus || strings.Contains(want, "alice.smith@example.com") || strings.Contains(want, "AKIA") {
			t.Fatalf("reference filtering did not redact: %q", want)
		}
		for seed := uint64(0); seed < 60; seed++ {
			r := rand.New(rand.NewPCG(seed, uint64(w)))
			maxDelta := []int{1, 2, 3, 7, 40, 500}[seed%6]
			raw := chatStream(split(r, corpus, maxDelta))
			s := NewStream(p, request.KindChat)
			out, ended := run(t, s, raw, r, 1+r.IntN(200))
			if ended {
				t.Fatalf("stream ended unexpectedly")
			}
			if got := collect(t, request.KindChat, out).text; got != want {
				t.Fatalf("window %d seed %d delta ≤%d:\n got %q\nwant %q", w, seed, maxDelta, got, want)
			}
			if s.MaxHeld() > 2*p.window()+maxDelta+64 {
				t.Fatalf("held %d bytes, window %d", s.MaxHeld(), p.window())
			}
			if s.Report.Counts["EMAIL_ADDRESS"] != ref.Counts["EMAIL_ADDRESS"] {
				t.Fatalf("counts %v, want %v", s.Report.Counts, ref.Counts)
			}
		}
	}
}

// TestPropertyAnthropic does the same for an Anthropic stream with text and tool input.
func TestPropertyAnthropic(t *testing.T) {
	p := testPolicy(t)
	args := `{"to":"alice.smith@example.com","note":"card 4111 1111 1111 1111"}`
	corpus := corpus + longValues
	wantText, _ := p.Text(corpus, &Report{})
	wantArgs, _ := p.Text(args, &Report{})
	for seed := uint64(0); seed < 40; seed++ {
		r := rand.New(rand.NewPCG(seed, 9))
		raw := anthropicStream(split(r, corpus, 1+int(seed%5)), split(r, args, 1+int(seed%3)))
		out, _ := run(t, NewStream(p, request.KindMessages), raw, r, 1+r.IntN(100))
		c := collect(t, request.KindMessages, out)
		if c.text != wantText || c.args != wantArgs {
			t.Fatalf("seed %d:\n got %q / %q\nwant %q / %q", seed, c.text, c.args, wantText, wantArgs)
		}
	}
}

func TestStreamBlocks(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	text := "Here it is: " + strings.Repeat("safe words ", 40) + "token ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5 done."
	for _, kind := range []request.Kind{request.KindChat, request.KindMessages} {
		raw := chatStream(split(r, text, 2))
		if kind == request.KindMessages {
			raw = anthropicStream(split(r, text, 2), nil)
		}
		s := NewStream(blockPolicy(t), kind)
		out, ended := run(t, s, raw, r, 50)
		c := collect(t, kind, out)
		if !ended || c.errors != 1 || !s.Blocked() || s.Report.Blocked != "GITHUB_TOKEN" {
			t.Fatalf("%v: ended %v errors %d report %+v", kind, ended, c.errors, s.Report)
		}
		if strings.Contains(out, "ghp_") || !strings.HasSuffix(out, "\n\n") {
			t.Fatalf("%v: secret or broken end in %q", kind, out)
		}
		if !strings.Contains(c.text, "safe words") {
			t.Fatalf("%v: text before the secret was not streamed: %q", kind, c.text)
		}
		if kind == request.KindMessages && !strings.Contains(out, "event: error\n") {
			t.Fatalf("no Anthropic error event: %q", out)
		}
	}
}

func TestStreamToolArgsChat(t *testing.T) {
	p := testPolicy(t)
	var b strings.Builder
	b.WriteString(chatEvent(map[string]any{"role": "assistant", "tool_calls": []any{map[string]any{"index": 0, "id": "call_1", "type": "function", "function": map[string]any{"name": "send", "arguments": ""}}}}, nil))
	args := `{"email":"alice.smith@example.com","body":"hi"}`
	for _, c := range split(rand.New(rand.NewPCG(3, 3)), args, 2) {
		b.WriteString(chatEvent(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "function": map[string]any{"arguments": c}}}}, nil))
	}
	b.WriteString(chatEvent(map[string]any{}, "tool_calls"))
	b.WriteString("data: [DONE]\n\n")
	out, _ := run(t, NewStream(p, request.KindChat), b.String(), rand.New(rand.NewPCG(1, 1)), 30)
	if got := collect(t, request.KindChat, out).args; got != `{"email":"[REDACTED:EMAIL_ADDRESS]","body":"hi"}` {
		t.Fatalf("args %q", got)
	}
}

// TestStreamRestoresPseudonyms: placeholders llm_inspect put into the prompt come back
// as the original values, even when split across deltas.
func TestStreamRestoresPseudonyms(t *testing.T) {
	v := detect.NewVault()
	ph := v.Placeholder("EMAIL_ADDRESS", "me@corp.example")
	p := testPolicy(t)
	p.Vault = v
	text := "I will write to " + ph + " today. " + strings.Repeat("more ", 80) + "Bye " + ph
	want := strings.ReplaceAll(text, ph, "me@corp.example")
	for seed := uint64(0); seed < 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 5))
		out, _ := run(t, NewStream(p, request.KindChat), chatStream(split(r, text, 3)), r, 64)
		if got := collect(t, request.KindChat, out).text; got != want {
			t.Fatalf("got %q", got)
		}
	}
}

// TestStreamUnparsable: a non-JSON event passes through unmodified by default, or ends
// the stream with an error event when configured.
func TestStreamUnparsable(t *testing.T) {
	raw := chatStream([]string{"hello "}) + "data: {not json\n\n"
	s := NewStream(testPolicy(t), request.KindChat)
	out, _ := run(t, s, raw, rand.New(rand.NewPCG(1, 1)), 1000)
	if !strings.Contains(out, "data: {not json\n\n") || s.Report.Errors != 1 {
		t.Fatalf("out %q errors %d", out, s.Report.Errors)
	}
	s = NewStream(testPolicy(t), request.KindChat)
	s.BlockOnError = true
	out, ended := run(t, s, raw, rand.New(rand.NewPCG(1, 1)), 1000)
	if !ended || strings.Contains(out, "not json") || !strings.Contains(out, "unparsable_response") {
		t.Fatalf("out %q", out)
	}
}

// TestStreamUpstreamError: text held when the upstream sends its error event is
// released before that event.
func TestStreamUpstreamError(t *testing.T) {
	text := "partial answer " + strings.Repeat("x ", 20)
	raw := chatEvent(map[string]any{"content": text}, nil) + "data: {\"error\":{\"message\":\"overloaded\"}}\n\n"
	out, _ := run(t, NewStream(testPolicy(t), request.KindChat), raw, rand.New(rand.NewPCG(1, 1)), 1000)
	i, j := strings.Index(out, "partial answer"), strings.Index(out, "overloaded")
	if i < 0 || j < i {
		t.Fatalf("held text not released before the error: %q", out)
	}
}

// TestPseudonymsInToolArgsStayJSON: a pseudonymised value restored into tool call
// arguments (JSON text inside a string) is JSON-escaped, streamed and whole, so arguments
// with a quote or backslash in the original value still parse.
func TestPseudonymsInToolArgsStayJSON(t *testing.T) {
	const orig = `Acme "Rocket" \ Co`
	v := detect.NewVault()
	ph := v.Placeholder("COMPANY", orig)
	p := testPolicy(t)
	p.Vault = v
	args := `{"to":"` + ph + `","note":"about ` + ph + `"}`
	check := func(got string) {
		t.Helper()
		var m map[string]string
		if err := json.Unmarshal([]byte(got), &m); err != nil || m["to"] != orig || m["note"] != "about "+orig {
			t.Fatalf("arguments %q: %v", got, err)
		}
	}
	for seed := uint64(0); seed < 10; seed++ {
		r := rand.New(rand.NewPCG(seed, 9))
		var b strings.Builder
		b.WriteString(chatEvent(map[string]any{"role": "assistant", "tool_calls": []any{map[string]any{"index": 0, "id": "call_1", "type": "function", "function": map[string]any{"name": "send", "arguments": ""}}}}, nil))
		for _, c := range split(r, args, 3) {
			b.WriteString(chatEvent(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "function": map[string]any{"arguments": c}}}}, nil))
		}
		b.WriteString(chatEvent(map[string]any{}, "tool_calls"))
		b.WriteString("data: [DONE]\n\n")
		out, _ := run(t, NewStream(p, request.KindChat), b.String(), r, 30)
		check(collect(t, request.KindChat, out).args)
		// Anthropic's input_json_delta lane is JSON text too.
		out, _ = run(t, NewStream(p, request.KindMessages), anthropicStream([]string{"ok"}, split(r, args, 3)), r, 30)
		check(collect(t, request.KindMessages, out).args)
	}
	body, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"index": 0, "message": map[string]any{
		"role": "assistant", "content": "Sent to " + ph,
		"tool_calls": []any{map[string]any{"id": "c", "type": "function", "function": map[string]any{"name": "send", "arguments": args}}}}}}})
	out, _, err := p.JSON(request.KindChat, body, &Report{})
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Choices []struct {
			Message struct {
				Content   string
				ToolCalls []struct{ Function struct{ Arguments string } } `json:"tool_calls"`
			}
		}
	}
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	if m.Choices[0].Message.Content != "Sent to "+orig {
		t.Fatalf("content %q", m.Choices[0].Message.Content)
	}
	check(m.Choices[0].Message.ToolCalls[0].Function.Arguments)
}

// TestRedactionInToolArgsStaysJSON: a value found right after an escape in streamed or
// whole tool call arguments is redacted without splitting the escape; and a decoded
// Anthropic tool input that merely has a field named "arguments" is not treated as JSON
// text.
func TestRedactionInToolArgsStaysJSON(t *testing.T) {
	p := testPolicy(t)
	args := `{"to":"x\nalice@example.com","cc":"\u00e9bob@example.org"}`
	check := func(got string) {
		t.Helper()
		var m map[string]string
		if err := json.Unmarshal([]byte(got), &m); err != nil || m["to"] != "x\n[REDACTED:EMAIL_ADDRESS]" || m["cc"] != "é[REDACTED:EMAIL_ADDRESS]" {
			t.Fatalf("arguments %q: %v", got, err)
		}
	}
	for seed := uint64(0); seed < 10; seed++ {
		r := rand.New(rand.NewPCG(seed, 11))
		var b strings.Builder
		b.WriteString(chatEvent(map[string]any{"role": "assistant", "tool_calls": []any{map[string]any{"index": 0, "id": "call_1", "type": "function", "function": map[string]any{"name": "send", "arguments": ""}}}}, nil))
		for _, c := range split(r, args, 4) {
			b.WriteString(chatEvent(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "function": map[string]any{"arguments": c}}}}, nil))
		}
		b.WriteString(chatEvent(map[string]any{}, "tool_calls"))
		out, _ := run(t, NewStream(p, request.KindChat), b.String(), r, 30)
		check(collect(t, request.KindChat, out).args)
	}
	got, _ := p.JSONText(args, &Report{})
	check(got)

	v := detect.NewVault()
	ph := v.Placeholder("COMPANY", `Acme "Rocket"`)
	p.Vault = v
	body := `{"type":"message","content":[{"type":"tool_use","id":"t","name":"f","input":{"arguments":"` + ph + `","other":"` + ph + `"}}]}`
	out, _, err := p.JSON(request.KindMessages, []byte(body), &Report{})
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Content []struct{ Input map[string]string }
	}
	if err := json.Unmarshal(out, &m); err != nil || m.Content[0].Input["arguments"] != `Acme "Rocket"` || m.Content[0].Input["other"] != `Acme "Rocket"` {
		t.Fatalf("tool input %s: %v", out, err)
	}
}

// TestRepeatedKeysAreUnparsable: a response whose generated text stands under a repeated
// key is not filtered by one reading and delivered for another; it counts as unparsable,
// in complete bodies and in stream events.
func TestRepeatedKeysAreUnparsable(t *testing.T) {
	p := testPolicy(t)
	body := `{"choices":[{"index":0,"message":{"role":"assistant","content":"fine","content":"other"}}]}`
	if _, _, err := p.JSON(request.KindChat, []byte(body), &Report{}); err != ErrUnparsable {
		t.Fatalf("complete body: %v, want ErrUnparsable", err)
	}
	if m, ok := decode([]byte(`{"type":"x","delta":{"text":"a","text":"b"}}`)); ok {
		t.Fatalf("stream event decoded to %v", m)
	}
}

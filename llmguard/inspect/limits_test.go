package inspect

import (
	"strings"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/tokens"
)

func exch(t *testing.T, kind request.Kind, body string) *exchange.Exchange {
	t.Helper()
	r, err := request.Parse(kind, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	m, err := tokens.ForModel(r.Model)
	if err != nil {
		t.Fatal(err)
	}
	return &exchange.Exchange{Kind: kind, Request: r, Tokens: m, PromptTokens: m.Prompt(r), Body: []byte(body)}
}

func TestLimitsRefusals(t *testing.T) {
	chat := func(extra string) string {
		return `{"model":"gpt-4o-mini"` + extra + `,"messages":[{"role":"user","content":"hello there"},{"role":"user","content":"again"}]}`
	}
	tests := []struct {
		name   string
		limits Limits
		kind   request.Kind
		body   string
		status int
		code   string
		param  string
		msg    string
	}{
		{"messages", Limits{MaxMessages: 1}, request.KindChat, chat(""), 400, "too_many_messages", "messages", "at most 1"},
		{"prompt tokens", Limits{MaxPromptTokens: 5}, request.KindChat, chat(""), 400, "context_length_exceeded", "messages", "at most 5"},
		{"n", Limits{MaxN: 1}, request.KindChat, chat(`,"n":3`), 400, "invalid_value", "n", "n is 3"},
		{"stream", Limits{DenyStream: true}, request.KindChat, chat(`,"stream":true`), 400, "stream_not_allowed", "stream", "stream set to false"},
		{"tools", Limits{DenyTools: true}, request.KindChat, chat(`,"tools":[{"type":"function","function":{"name":"f"}}]`), 400, "tools_not_allowed", "tools", "without tools"},
		{"model not in allow list", Limits{AllowModels: []string{"gpt-4o", "claude-*"}}, request.KindChat, chat(""), 403, "model_not_allowed", "model", "`gpt-4o-mini`"},
		{"model denied", Limits{DenyModels: []string{"*-mini"}}, request.KindChat, chat(""), 403, "model_not_allowed", "model", "not available"},
		{"endpoint not allowed", Limits{AllowEndpoints: []request.Kind{request.KindChat}}, request.KindEmbeddings, `{"model":"text-embedding-3-small","input":"x"}`, 403, "endpoint_not_allowed", "", "embeddings endpoint"},
		{"endpoint denied", Limits{DenyEndpoints: []request.Kind{request.KindChat}}, request.KindChat, chat(""), 403, "endpoint_not_allowed", "", "chat endpoint"},
		{"output refuse", Limits{MaxOutputTokens: 100, OutputAction: OutputRefuse}, request.KindChat, chat(`,"max_tokens":500`), 400, "invalid_value", "max_tokens", "max_tokens is 500"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.limits.Validate(); err != nil {
				t.Fatal(err)
			}
			_, e := tc.limits.Check(exch(t, tc.kind, tc.body))
			if e == nil {
				t.Fatal("allowed")
			}
			if e.Status != tc.status || e.Code != tc.code || e.Param != tc.param || !strings.Contains(e.Message, tc.msg) {
				t.Errorf("got %+v", e)
			}
			if strings.Contains(e.Message, "hello there") {
				t.Error("refusal echoes prompt text")
			}
		})
	}
}

func TestLimitsAllowAndClamp(t *testing.T) {
	l := Limits{MaxMessages: 5, MaxPromptTokens: 1000, MaxN: 2, MaxOutputTokens: 100, AllowModels: []string{"gpt-*", "claude-*"}, DenyModels: []string{"gpt-4"}}
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		kind request.Kind
		body string
		want map[string]string
	}{
		{"under cap", request.KindChat, `{"model":"gpt-4o","max_tokens":50,"messages":[{"role":"user","content":"x"}]}`, nil},
		{"over cap clamps the client's field", request.KindChat, `{"model":"gpt-4o","max_tokens":500,"messages":[{"role":"user","content":"x"}]}`, map[string]string{"max_tokens": "100"}},
		{"missing on OpenAI chat", request.KindChat, `{"model":"gpt-4o","messages":[{"role":"user","content":"x"}]}`, map[string]string{"max_completion_tokens": "100"}},
		{"missing on Responses", request.KindResponses, `{"model":"gpt-5","input":"x"}`, map[string]string{"max_output_tokens": "100"}},
		{"Anthropic over cap", request.KindMessages, `{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":"x"}]}`, map[string]string{"max_tokens": "100"}},
		{"embeddings have no allowance", request.KindEmbeddings, `{"model":"gpt-embed","input":"x"}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fields, e := l.Check(exch(t, tc.kind, tc.body))
			if e != nil {
				t.Fatal(e)
			}
			if len(fields) != len(tc.want) {
				t.Fatalf("fields %v, want %v", fields, tc.want)
			}
			for k, v := range tc.want {
				if string(fields[k]) != v {
					t.Errorf("%s = %s, want %s", k, fields[k], v)
				}
			}
		})
	}
	// Models endpoint: no body, only the endpoint rule applies.
	if _, e := l.Check(&exchange.Exchange{Kind: request.KindModels}); e != nil {
		t.Errorf("models: %v", e)
	}
}

func TestLimitsValidate(t *testing.T) {
	for _, l := range []Limits{{OutputAction: "trim"}, {AllowModels: []string{""}}, {MaxMessages: -1}} {
		if l.Validate() == nil {
			t.Errorf("%+v accepted", l)
		}
	}
}

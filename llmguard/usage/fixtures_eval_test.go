//go:build eval

package usage

import (
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/request"
)

func TestFromJSONFixtures(t *testing.T) {
	tests := []struct {
		file string
		kind request.Kind
		want Usage
		ok   bool
	}{
		{"openai-chat-completion-finish-length.json", request.KindChat, Usage{InputTokens: 79, OutputTokens: 1}, true},
		{"openai-chat-completion-parallel-tool-calls.json", request.KindChat, Usage{InputTokens: 149, OutputTokens: 60}, true},
		{"openai-chat-completion-refusal.json", request.KindChat, Usage{InputTokens: 79, OutputTokens: 12}, true},
		{"openai-chat-completion-tool-call-gpt5.json", request.KindChat, Usage{InputTokens: 162, OutputTokens: 219, ReasoningTokens: 192}, true},
		{"openai-embeddings-float.json", request.KindEmbeddings, Usage{InputTokens: 12}, true},
		{"openai-embeddings-base64.json", request.KindEmbeddings, Usage{InputTokens: 5}, true},
		{"openai-responses-output-text.json", request.KindResponses, Usage{InputTokens: 14, OutputTokens: 50}, true},
		{"anthropic-message-tool-use.json", request.KindMessages, Usage{InputTokens: 402, OutputTokens: 89}, true},
		{"openai-error-400-unsupported-parameter.json", request.KindChat, Usage{}, false},
		{"openai-error-insufficient-quota.json", request.KindResponses, Usage{}, false},
		{"anthropic-error-429-rate-limit.json", request.KindMessages, Usage{}, false},
		{"anthropic-error-529-overloaded.json", request.KindMessages, Usage{}, false},
		{"openai-chat-request-tools.json", request.KindChat, Usage{}, false},
	}
	for _, tc := range tests {
		got, ok := FromJSON(tc.kind, readFixture(t, tc.file))
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: got %+v %v, want %+v %v", tc.file, got, ok, tc.want, tc.ok)
		}
	}
	if u, _ := FromJSON(request.KindChat, readFixture(t, "openai-chat-completion-tool-call-gpt5.json")); u.Total() != 381 {
		t.Errorf("total %d, the body says 381", u.Total())
	}
}

func TestOutputText(t *testing.T) {
	tests := []struct {
		kind request.Kind
		body string
		want string
	}{
		{request.KindMessages, string(readFixture(t, "anthropic-message-tool-use.json")),
			"I'll get the current weather in San Francisco for you in Fahrenheit.\n" + `{"city":"San Francisco","units":"fahrenheit"}`},
		{request.KindChat, string(readFixture(t, "openai-chat-completion-refusal.json")), "I'm very sorry, but I can't assist with that."},
		{request.KindChat, string(readFixture(t, "openai-chat-completion-finish-length.json")), `{"`},
		{request.KindChat, string(readFixture(t, "openai-chat-completion-parallel-tool-calls.json")),
			`{"city": "Edinburgh", "country": "GB", "units": "c"}` + "\n" + `{"ticker": "AAPL", "exchange": "NASDAQ"}`},
		{request.KindChat, string(readFixture(t, "openai-chat-completion-tool-call-gpt5.json")), `{"location":"San Francisco, CA"}`},
		{request.KindResponses, string(readFixture(t, "openai-responses-output-text.json")),
			"I can't provide real-time updates, but you can easily check the current weather in San Francisco using a weather website or app. Typically, San Francisco has cool, foggy summers and mild winters, so it's good to be prepared for variable weather!"},
		{request.KindEmbeddings, string(readFixture(t, "openai-embeddings-float.json")), ""},
		{request.KindChat, string(readFixture(t, "openai-error-404-model-not-found.json")), ""},
		{request.KindCompletions, `{"choices":[{"text":"one"},{"text":"two"}]}`, "one\ntwo"},
		{request.KindChat, `{"choices":[{"message":{"reasoning_content":"think","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}}]}`, "think\nab"},
		{request.KindResponses, `{"output":[{"type":"reasoning","summary":[{"text":"s"}]},{"type":"function_call","arguments":"{}"},{"type":"message","content":[{"type":"refusal","refusal":"no"}]}]}`, "s\n{}\nno"},
		{request.KindMessages, `{"content":[{"type":"thinking","thinking":"hm"},{"type":"redacted_thinking","data":"xx"},{"type":"text","text":"hi"}]}`, "hm\nhi"},
		{request.KindChat, `not json`, ""},
	}
	for i, tc := range tests {
		if got := OutputText(tc.kind, []byte(tc.body)); got != tc.want {
			t.Errorf("%d (%v): got %q, want %q", i, tc.kind, got, tc.want)
		}
	}
}

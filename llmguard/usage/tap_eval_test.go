//go:build eval

package usage

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/sse"
)

// fixtureDir is where the shared wire recordings live: shared/ sits beside the
// repository root, two levels above this package.
const fixtureDir = "../../../shared/data/api-fixtures"

// readFixture fails (never skips) when a fixture is missing: a green run without the
// recordings would prove nothing.
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatalf("fixture missing: %v", err)
	}
	return b
}

func TestTapFixtures(t *testing.T) {
	type tc struct {
		file    string
		kind    request.Kind
		usage   Usage
		usageOK bool
		done    bool
		err     *StreamError
		texts   []string
	}
	chat, resp, msgs := request.KindChat, request.KindResponses, request.KindMessages
	tests := []tc{
		{"openai-chat-stream-text-usage.sse", chat, Usage{InputTokens: 14, OutputTokens: 30}, true, true, nil,
			[]string{"I'm unable to provide real-time weather updates. To get the current weather in San Francisco, I recommend checking a reliable weather website or a weather app."}},
		{"openai-chat-stream-tool-call.sse", chat, Usage{InputTokens: 44, OutputTokens: 16}, true, true, nil,
			[]string{`{"city":"New York City"}`}},
		{"openai-chat-stream-n3-choices.sse", chat, Usage{InputTokens: 79, OutputTokens: 42}, true, true, nil,
			[]string{`{"city":"San Francisco","temperature":65,"units":"f"}`, `{"city":"San Francisco","temperature":61,"units":"f"}`, `{"city":"San Francisco","temperature":59,"units":"f"}`}},
		{"openai-chat-stream-parallel-tool-calls.sse", chat, Usage{InputTokens: 149, OutputTokens: 60}, true, true, nil,
			[]string{`{"city": "Edinburgh", "country": "GB", "units": "c"}`, `{"ticker": "AAPL", "exchange": "NASDAQ"}`}},
		{"openai-chat-stream-refusal-logprobs.sse", chat, Usage{InputTokens: 79, OutputTokens: 12}, true, true, nil,
			[]string{"I'm very sorry, but I can't assist with that."}},
		{"openai-chat-stream-content-logprobs.sse", chat, Usage{InputTokens: 9, OutputTokens: 2}, true, true, nil, nil},
		{"openai-chat-stream-finish-length.sse", chat, Usage{InputTokens: 79, OutputTokens: 1}, true, true, nil, nil},
		{"openai-chat-stream-gpt5-reasoning-usage.sse", chat, Usage{InputTokens: 12, OutputTokens: 100, ReasoningTokens: 100}, true, true, nil, nil},
		{"groq-chat-stream-tool-call-usage.sse", chat, Usage{InputTokens: 304, OutputTokens: 49, ReasoningTokens: 23}, true, true, nil,
			[]string{`We need to call the function with correct parameter "name". Provide a name, e.g., "example".`, `{"name":"example"}`}},
		{"groq-chat-stream-midstream-error.sse", chat, Usage{}, false, false,
			&StreamError{Type: "invalid_request_error", Code: "tool_use_failed", Message: "Tool choice is required, but model did not call a tool"},
			[]string{"The user says: \"dont make a tool call, just return the string \"maybe\" by itself, not as json output, to test error handling; on the second try you can use valid args\". The developer instructions: be concise. Never use pretty double quotes, just regular ones.\n\nWe need to respond with just the string maybe, not JSON, and no tool call. So just plain text: maybe.maybe"}},
		{"openai-responses-stream-text.sse", resp, Usage{InputTokens: 278, OutputTokens: 9}, true, true, nil,
			[]string{"The capital of France is Paris."}},
		{"openai-responses-stream-function-call.sse", resp, Usage{InputTokens: 255, OutputTokens: 16}, true, true, nil,
			[]string{`{"country":"France"}`}},
		{"openai-responses-stream-reasoning-function-call.sse", resp, Usage{InputTokens: 53, OutputTokens: 469, ReasoningTokens: 448}, true, true, nil,
			[]string{`{"result":6666}`}},
		{"anthropic-messages-stream-tool-use.sse", msgs, Usage{InputTokens: 397, OutputTokens: 89}, true, true, nil,
			[]string{"I'll get the current weather in San Francisco for you in Fahrenheit.", `{"city": "San Francisco", "units": "fahrenheit"}`}},
		{"anthropic-messages-stream-thinking.sse", msgs, Usage{InputTokens: 43, OutputTokens: 282}, true, true, nil, nil},
		{"anthropic-messages-stream-redacted-thinking.sse", msgs, Usage{InputTokens: 92, OutputTokens: 189}, true, true, nil,
			[]string{"I notice that you've sent what appears to be some kind of test string or command. I don't have any special \"magic string\" triggers or backdoor commands that would expose internal systems or change my behavior.\n\nI'm Claude, an AI assistant created by Anthropic to be helpful, harmless, and honest. How can I assist you today with a legitimate task or question?"}},
		// message_delta carries only output_tokens here: the input side stays from
		// message_start. The unterminated message_stop is delivered by Flush.
		{"anthropic-messages-stream-max-tokens-partial-tool-input.sse", msgs, Usage{InputTokens: 450, OutputTokens: 124}, true, true, nil,
			[]string{"I'll create a comprehensive tax guide for someone with multiple W2s and save it in a file called taxes.txt. Let me do that for you now.",
				"{\"filename\": \"taxes.txt\", \"lines_of_text\": [\n\"# COMPREHENSIVE TAX GUIDE FOR INDIVIDUALS WITH MULTIPLE W-2s\",\n\"\",\n\"## INTRODUCTION\",\n\"\",\n\"Filing taxes"}},
		{"anthropic-messages-stream-error-overloaded.sse", msgs, Usage{}, false, false,
			&StreamError{Type: "overloaded_error", Message: "Overloaded"}, nil},
	}
	for _, c := range tests {
		body := readFixture(t, c.file)
		for _, chunk := range []int{len(body), 1, 7, 100} {
			tap := tapStream(t, c.kind, body, chunk)
			u, ok := tap.Usage()
			if u != c.usage || ok != c.usageOK {
				t.Fatalf("%s/%d: usage %+v %v, want %+v %v", c.file, chunk, u, ok, c.usage, c.usageOK)
			}
			if tap.Done() != c.done {
				t.Fatalf("%s/%d: done %v", c.file, chunk, tap.Done())
			}
			if !reflect.DeepEqual(tap.Err(), c.err) {
				t.Fatalf("%s/%d: err %+v, want %+v", c.file, chunk, tap.Err(), c.err)
			}
			if c.texts != nil && !reflect.DeepEqual(texts(tap), c.texts) {
				t.Fatalf("%s/%d: texts %q", c.file, chunk, texts(tap))
			}
			// Finish returns the upstream's numbers untouched when it reported them,
			// and counts the collected text otherwise.
			var counted []string
			fu, reported := tap.Finish(1000, func(s string) int { counted = append(counted, s); return len(s) })
			if reported != c.usageOK {
				t.Fatalf("%s: reported %v", c.file, reported)
			}
			if reported && (fu != c.usage || counted != nil) {
				t.Fatalf("%s: Finish %+v, counted %q", c.file, fu, counted)
			}
			if !reported {
				want := int64(0)
				for _, s := range texts(tap) {
					want += int64(len(s))
				}
				if fu.InputTokens != 1000 || fu.OutputTokens != want || !reflect.DeepEqual(counted, texts(tap)) {
					t.Fatalf("%s: Finish %+v (want output %d), counted %q", c.file, fu, want, counted)
				}
			}
		}
	}
	// Every thinking delta is text the model generated: check the thinking fixture's
	// first block exactly.
	tap := tapStream(t, msgs, readFixture(t, "anthropic-messages-stream-thinking.sse"), 64)
	if got := texts(tap)[0]; got != "This is a straightforward question about pedestrian safety. I should provide clear, helpful advice about how to safely cross a street. This is basic safety information that could help prevent accidents." {
		t.Fatalf("thinking text %q", got)
	}
	if u, _ := tap.Finish(0, nil); u.Total() != 43+282 {
		t.Fatalf("total %d", u.Total())
	}
}

// TestTapResponsesError replays the recorded payloads of a failed Responses stream
// (the source kept the payloads but not the SSE framing, so it is rebuilt here).
func TestTapResponsesError(t *testing.T) {
	var wire []byte
	sc := bufio.NewScanner(bytes.NewReader(readFixture(t, "openai-responses-stream-error-insufficient-quota.chunks.jsonl")))
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		// The event name is left out on purpose: the tap must rely on the payload type.
		wire = sse.AppendEvent(wire, &sse.Event{Data: line, Retry: -1})
		n++
	}
	if n != 4 {
		t.Fatalf("%d payloads", n)
	}
	tap := tapStream(t, request.KindResponses, wire, 33)
	want := &StreamError{Type: "insufficient_quota", Code: "insufficient_quota",
		Message: "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors."}
	if !reflect.DeepEqual(tap.Err(), want) || !tap.Done() {
		t.Fatalf("err %+v done %v", tap.Err(), tap.Done())
	}
	if _, ok := tap.Usage(); ok {
		t.Fatal("usage reported")
	}
	if u, reported := tap.Finish(21, func(string) int { return 1 }); reported || u.InputTokens != 21 || u.OutputTokens != 0 {
		t.Fatalf("finish %+v %v", u, reported)
	}
}

package usage

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/sse"
)

var allKinds = []request.Kind{request.KindUnknown, request.KindChat, request.KindCompletions, request.KindEmbeddings,
	request.KindResponses, request.KindMessages, request.KindModels}

func addFixtures(f *testing.F, pattern string) {
	paths, _ := filepath.Glob(filepath.Join("..", "sse", "testdata", pattern))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil && len(b) < 20000 {
			f.Add(b, uint8(len(b)))
		}
	}
}

// FuzzTap feeds arbitrary streams to a Tap of every kind: it must never panic, keep its
// text within the cap, and settle non-negative, bounded numbers.
func FuzzTap(f *testing.F) {
	addFixtures(f, "*.sse")
	f.Add([]byte("data: {\"choices\":[{\"index\":-9223372036854775808,\"delta\":{\"tool_calls\":[{\"index\":-1}]}}]}\n\n"), uint8(0))
	f.Add([]byte("event: error\ndata: {\"error\":[1]}\n\n"), uint8(3))
	f.Fuzz(func(t *testing.T, body []byte, kindByte uint8) {
		kind := allKinds[int(kindByte)%len(allKinds)]
		tap := NewTap(kind)
		tap.TextCap = 1 + int(kindByte)*64
		var p sse.Parser
		emit := func(ev *sse.Event) error { tap.Observe(ev); return nil }
		_ = p.Feed(body, emit)
		_ = p.Flush(emit)
		if tap.textBytes > tap.TextCap || len(tap.slots) > maxSlots {
			t.Fatalf("kept %d bytes in %d slots", tap.textBytes, len(tap.slots))
		}
		_, _ = tap.Usage()
		_ = tap.Done()
		if e := tap.Err(); e != nil {
			_ = e.Error()
		}
		u, _ := tap.Finish(int64(kindByte), func(s string) int { return len(s) })
		for _, n := range []int64{u.InputTokens, u.CachedInputTokens, u.CacheWriteTokens, u.OutputTokens, u.ReasoningTokens} {
			if n < 0 || n > 3*MaxTokens {
				t.Fatalf("usage out of range: %+v", u)
			}
		}
		if u, _ := tap.Finish(-1, nil); u.InputTokens < 0 {
			t.Fatalf("negative input: %+v", u)
		}
	})
}

// FuzzFromJSON runs FromJSON and OutputText on arbitrary bodies for every kind: they must
// never panic, and usage numbers must stay in range.
func FuzzFromJSON(f *testing.F) {
	addFixtures(f, "*.json")
	f.Add([]byte(`{"usage":{"prompt_tokens":"1e400","completion_tokens":-1,"prompt_tokens_details":null}}`), uint8(1))
	f.Add([]byte(`{"content":[{"type":"tool_use","input":{"a":[1,2,{"b":null}]}}]}`), uint8(5))
	f.Fuzz(func(t *testing.T, body []byte, kindByte uint8) {
		kind := allKinds[int(kindByte)%len(allKinds)]
		u, ok := FromJSON(kind, body)
		if !ok && u != (Usage{}) {
			t.Fatalf("usage without ok: %+v", u)
		}
		for _, n := range []int64{u.InputTokens, u.CachedInputTokens, u.CacheWriteTokens, u.OutputTokens, u.ReasoningTokens} {
			if n < 0 || n > 3*MaxTokens {
				t.Fatalf("usage out of range: %+v", u)
			}
		}
		if s := OutputText(kind, body); len(s) > 3*len(body)+16 {
			// Text comes out of the body; invalid UTF-8 becomes U+FFFD (3 bytes), nothing grows more.
			t.Fatalf("text of %d bytes from a %d-byte body", len(s), len(body))
		}
	})
}

// FuzzReply holds the byte walk of Reply to the struct decoding it replaced (decodeReply)
// on arbitrary bodies of every kind: the same usage, the same text.
func FuzzReply(f *testing.F) {
	addFixtures(f, "*.json")
	f.Add(chatReply, uint8(1))
	f.Add([]byte(`{"choices":[{"message":{"content":[{"text":"a"},"b",{"Text":"c"}],"tool_calls":[{"function":{"arguments":"{}"}},null]},"text":"\u00e9\ud800"}],"USAGE":{"prompt_tokens":"3"}}`), uint8(1))
	f.Add([]byte(`{"choices":[{"message":{"refusal":"no","Refusal":"yes"}}],"usage":null}`), uint8(1))
	f.Add([]byte(`{"output":[{"summary":[{"text":"s"}],"content":[{"text":"t","refusal":"r"}],"arguments":"a","input":"i"}],"usage":{"input_tokens":1}}`), uint8(4))
	f.Add([]byte(`{"content":[{"type":"tool_use","input":null},{"type":"tool_use","input":{"a" : [1, 2]}},{"type":"text","text":"x","thinking":"y"}],"usage":{"output_tokens":2}}`), uint8(5))
	f.Add([]byte(`{"usage":5,"choices":{"x":1}}`), uint8(3))
	// Usage objects as setUsage reads them by hand: details, duplicates (the later wins,
	// objects merge), null clearing, wrong types, mixed case, quoted and fractional numbers.
	f.Add([]byte(`{"usage":{"prompt_tokens":10,"PROMPT_TOKENS":"7","completion_tokens":2.9,"prompt_tokens_details":{"cached_tokens":4},"prompt_tokens_details":{"cache_write_tokens":1},"completion_tokens_details":null,"output_tokens_details":{"reasoning_tokens":3}}}`), uint8(1))
	f.Add([]byte(`{"usage":{"input_tokens":5,"input_tokens_details":[1],"prompt_tokens_details":"x","completion_tokens_details":{"reasoning_tokens":{"a":1}},"cache_read_input_tokens":-3,"cache_creation_input_tokens":1e30}}`), uint8(4))
	f.Add([]byte(`{"usage":{"input_tokens":5,"cache_read_input_tokens":2,"Cache_Creation_Input_Tokens":"1","output_tokens":null,"output_tokens":9}}`), uint8(5))
	f.Add([]byte(`{"usage":[1,2],"choices":[]}`), uint8(1))
	// Keys that differ only in case pass the duplicate check and reach setUsage's merging.
	f.Add([]byte(`{"usage":{"prompt_tokens":4,"Prompt_Tokens":9,"prompt_tokens_details":{"cached_tokens":2},"Prompt_Tokens_Details":{"cache_write_tokens":1},"COMPLETION_TOKENS_DETAILS":{"reasoning_tokens":3},"completion_tokens_details":null}}`), uint8(1))
	f.Add([]byte(`{"usage":{"input_tokens":4,"Input_Tokens":null,"output_tokens_details":{"reasoning_tokens":2},"Output_Tokens_Details":"x"}}`), uint8(4))
	f.Add([]byte(`{"usage":{"prompt_\u0074okens":3,"completion_tokens":"\u0031"}}`), uint8(1))
	f.Fuzz(func(t *testing.T, body []byte, kindByte uint8) {
		kind := allKinds[int(kindByte)%len(allKinds)]
		u, ok, text := Reply(kind, body)
		wu, wok, wtext := decodeReply(kind, body)
		if u != wu || ok != wok || text != wtext {
			t.Fatalf("Reply = %+v %v %q, decodeReply = %+v %v %q", u, ok, text, wu, wok, wtext)
		}
	})
}

package mock

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/tokens"
)

const chatBody = `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Say hello to the world"}]}`

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"echo", Config{Mode: ModeEcho}, true},
		{"bad mode", Config{Mode: "random"}, false},
		{"empty model", Config{Models: []string{"a", " "}}, false},
		{"negative chunk", Config{ChunkSize: -1}, false},
		{"negative delay", Config{ChunkDelay: -1}, false},
		{"huge dims", Config{EmbeddingDimensions: MaxEmbeddingDimensions + 1}, false},
		{"negative body", Config{MaxBodySize: -1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if (err == nil) != tc.ok {
				t.Fatalf("New(%+v) error = %v, want ok=%v", tc.cfg, err, tc.ok)
			}
		})
	}
}

func TestRoutingErrors(t *testing.T) {
	s := newTestServer(t, Config{MaxBodySize: 100})
	for _, tc := range []struct {
		name, method, path, body string
		hdr                      map[string]string
		status                   int
		anthropic                bool
		param                    string
	}{
		{"unknown path", "POST", "/v1/images/generations", "{}", nil, 404, false, ""},
		{"wrong method chat", "GET", "/v1/chat/completions", "", nil, 405, false, ""},
		{"wrong method messages", "GET", "/v1/messages", "", nil, 405, false, ""},
		{"wrong method models", "POST", "/v1/models", "{}", nil, 405, false, ""},
		{"too large", "POST", "/v1/chat/completions", strings.Repeat(" ", 101), nil, 413, false, ""},
		{"too large anthropic", "POST", "/v1/messages", strings.Repeat(" ", 101), nil, 413, true, ""},
		{"empty body", "POST", "/v1/chat/completions", "", nil, 400, false, ""},
		{"not json", "POST", "/v1/embeddings", "{", nil, 400, false, ""},
		{"no model", "POST", "/v1/chat/completions", `{"messages":[]}`, nil, 400, false, "model"},
		{"bad role", "POST", "/v1/chat/completions", `{"model":"m","messages":[{"role":"x"}]}`, nil, 400, false, "messages[0].role"},
		{"anthropic no max_tokens", "POST", "/v1/messages", `{"model":"claude","messages":[]}`, nil, 400, true, "max_tokens"},
		{"bad dimensions", "POST", "/v1/embeddings", `{"model":"e","input":"x","dimensions":0}`, nil, 400, false, "dimensions"},
		{"bad encoding", "POST", "/v1/embeddings", `{"model":"e","input":"x","encoding_format":"hex"}`, nil, 400, false, "encoding_format"},
		{"bad status header", "POST", "/v1/chat/completions", chatBody, map[string]string{HeaderStatus: "200"}, 400, false, ""},
		{"bad mode header", "POST", "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"x"}]}`, map[string]string{HeaderMode: "loud"}, 400, false, ""},
		{"bad stream error header", "POST", "/v1/messages", `{"model":"c","max_tokens":5,"messages":[]}`, map[string]string{HeaderStreamError: "after=-1"}, 400, true, ""},
		{"bad no-usage header", "POST", "/v1/responses", `{"model":"m","input":"x"}`, map[string]string{HeaderNoUsage: "maybe"}, 400, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := do(t, s, tc.method, tc.path, tc.body, tc.hdr)
			if w.Code != tc.status {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tc.status, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			m := decode(t, w.Body.Bytes())
			if tc.anthropic {
				if get(t, m, "type") != "error" || get(t, m, "error", "message") == "" {
					t.Fatalf("not an Anthropic error: %s", w.Body)
				}
				return
			}
			if get(t, m, "error", "message") == "" || get(t, m, "error", "type") == "" {
				t.Fatalf("not an OpenAI error: %s", w.Body)
			}
			if tc.param != "" && get(t, m, "error", "param") != tc.param {
				t.Errorf("param = %v, want %q", get(t, m, "error", "param"), tc.param)
			}
			if tc.status == 405 && w.Header().Get("Allow") == "" {
				t.Error("405 without Allow header")
			}
		})
	}
}

func TestSimulatedStatus(t *testing.T) {
	s := newTestServer(t, Config{})
	w := do(t, s, "POST", "/v1/chat/completions", chatBody, map[string]string{HeaderStatus: "429"})
	if w.Code != 429 || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("status %d Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	if get(t, decode(t, w.Body.Bytes()), "error", "type") != "rate_limit_error" {
		t.Errorf("body %s", w.Body)
	}
	w = do(t, s, "POST", "/openai/v1/messages", `{}`, map[string]string{HeaderStatus: "529"})
	if w.Code != 529 || get(t, decode(t, w.Body.Bytes()), "error", "type") != "overloaded_error" {
		t.Fatalf("status %d body %s", w.Code, w.Body)
	}
	w = do(t, s, "POST", "/v1/embeddings", `{}`, map[string]string{HeaderStatus: "503"})
	if w.Code != 503 || get(t, decode(t, w.Body.Bytes()), "error", "type") != "server_error" {
		t.Fatalf("status %d body %s", w.Code, w.Body)
	}
}

func TestModels(t *testing.T) {
	for _, tc := range []struct {
		cfg  []string
		want []string
	}{{nil, DefaultModels}, {[]string{"a", "b"}, []string{"a", "b"}}} {
		s := newTestServer(t, Config{Models: tc.cfg})
		w := do(t, s, "GET", "/v1/models", "", nil)
		m := decode(t, w.Body.Bytes())
		if w.Code != 200 || get(t, m, "object") != "list" {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		data := get(t, m, "data").([]any)
		if len(data) != len(tc.want) {
			t.Fatalf("got %d models, want %d", len(data), len(tc.want))
		}
		for i, id := range tc.want {
			if get(t, data[i], "id") != id || get(t, data[i], "object") != "model" || get(t, data[i], "owned_by") == "" || num(t, data[i], "created") <= 0 {
				t.Errorf("model %d = %v", i, data[i])
			}
		}
	}
}

func TestChatCompletion(t *testing.T) {
	s := newTestServer(t, Config{})
	w := do(t, s, "POST", "/openai/v1/chat/completions", chatBody, nil)
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	m := decode(t, w.Body.Bytes())
	reply := "This is a mock reply from llm_mock for gpt-4o-mini; it is a testing aid, not a model."
	prompt, completion := expectTokens(t, request.KindChat, chatBody, reply)
	for key, want := range map[string]any{"id": "chatcmpl-test0001", "object": "chat.completion", "model": "gpt-4o-mini"} {
		if got := get(t, m, key); got != want {
			t.Errorf("%s = %v, want %v", key, got, want)
		}
	}
	if num(t, m, "created") != fixedNow.Unix() {
		t.Errorf("created = %v", get(t, m, "created"))
	}
	ch := get(t, m, "choices", 0)
	if get(t, ch, "message", "content") != reply || get(t, ch, "message", "role") != "assistant" ||
		get(t, ch, "message", "refusal") != nil || get(t, ch, "logprobs") != nil || get(t, ch, "finish_reason") != "stop" {
		t.Errorf("choice = %v", ch)
	}
	if num(t, m, "usage", "prompt_tokens") != prompt || num(t, m, "usage", "completion_tokens") != completion ||
		num(t, m, "usage", "total_tokens") != prompt+completion || prompt < 10 {
		t.Errorf("usage = %v, want prompt %d completion %d", get(t, m, "usage"), prompt, completion)
	}
	if num(t, m, "usage", "prompt_tokens_details", "cached_tokens") != 0 || num(t, m, "usage", "completion_tokens_details", "reasoning_tokens") != 0 {
		t.Errorf("usage details = %v", get(t, m, "usage"))
	}
}

func TestReplySelection(t *testing.T) {
	echoBody := `{"model":"gpt-4o","messages":[{"role":"user","content":"first"},{"role":"assistant","content":"ok"},{"role":"user","content":[{"type":"text","text":"part one"},{"type":"text","text":"part two"}]}]}`
	for _, tc := range []struct {
		name string
		cfg  Config
		hdr  map[string]string
		want string
	}{
		{"configured reply", Config{Reply: "Hello from the mock"}, nil, "Hello from the mock"},
		{"echo mode", Config{Mode: ModeEcho}, nil, "part one\npart two"},
		{"echo header", Config{}, map[string]string{HeaderMode: "echo"}, "part one\npart two"},
		{"fixed header over echo config", Config{Mode: ModeEcho, Reply: "fixed"}, map[string]string{HeaderMode: "fixed"}, "fixed"},
		{"reply header wins", Config{Mode: ModeEcho}, map[string]string{HeaderReply: "sk-proj-SECRET 555-0100"}, "sk-proj-SECRET 555-0100"},
		{"empty reply header", Config{}, map[string]string{HeaderReply: ""}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, tc.cfg)
			w := do(t, s, "POST", "/v1/chat/completions", echoBody, tc.hdr)
			m := decode(t, w.Body.Bytes())
			if got := get(t, m, "choices", 0, "message", "content"); got != tc.want {
				t.Fatalf("reply = %q, want %q", got, tc.want)
			}
			_, completion := expectTokens(t, request.KindChat, echoBody, tc.want)
			if num(t, m, "usage", "completion_tokens") != completion {
				t.Errorf("completion_tokens = %v, want %d", get(t, m, "usage", "completion_tokens"), completion)
			}
		})
	}
}

func TestChatNChoicesAndNoUsage(t *testing.T) {
	s := newTestServer(t, Config{Reply: "two words"})
	body := `{"model":"gpt-4o","n":3,"messages":[{"role":"user","content":"hi"}]}`
	m := decode(t, do(t, s, "POST", "/v1/chat/completions", body, nil).Body.Bytes())
	if n := len(get(t, m, "choices").([]any)); n != 3 {
		t.Fatalf("%d choices", n)
	}
	for i := 0; i < 3; i++ {
		if num(t, m, "choices", i, "index") != int64(i) || get(t, m, "choices", i, "message", "content") != "two words" {
			t.Errorf("choice %d = %v", i, get(t, m, "choices", i))
		}
	}
	_, one := expectTokens(t, request.KindChat, body, "two words")
	if num(t, m, "usage", "completion_tokens") != 3*one {
		t.Errorf("completion_tokens = %v, want %d", get(t, m, "usage", "completion_tokens"), 3*one)
	}
	m = decode(t, do(t, s, "POST", "/v1/chat/completions", body, map[string]string{HeaderNoUsage: "true"}).Body.Bytes())
	if has(m, "usage") {
		t.Errorf("usage present with %s: %v", HeaderNoUsage, m)
	}
}

func TestTruncation(t *testing.T) {
	s := newTestServer(t, Config{Reply: "The quick brown fox jumps over the lazy dog again and again."})
	m := decode(t, do(t, s, "POST", "/v1/chat/completions",
		`{"model":"gpt-4o","max_completion_tokens":4,"messages":[{"role":"user","content":"hi"}]}`, nil).Body.Bytes())
	if get(t, m, "choices", 0, "finish_reason") != "length" || get(t, m, "choices", 0, "message", "content") != "The quick brown fox" ||
		num(t, m, "usage", "completion_tokens") != 4 {
		t.Errorf("chat truncation: %v", m)
	}
	m = decode(t, do(t, s, "POST", "/v1/messages",
		`{"model":"claude-sonnet-4-5","max_tokens":3,"messages":[{"role":"user","content":"hi"}]}`, nil).Body.Bytes())
	text := get(t, m, "content", 0, "text").(string)
	if get(t, m, "stop_reason") != "max_tokens" || num(t, m, "usage", "output_tokens") > 3 || !strings.HasPrefix("The quick brown fox", text) || text == "" {
		t.Errorf("messages truncation: %v", m)
	}
	m = decode(t, do(t, s, "POST", "/v1/responses", `{"model":"gpt-4o","max_output_tokens":2,"input":"hi"}`, nil).Body.Bytes())
	if get(t, m, "status") != "incomplete" || get(t, m, "incomplete_details", "reason") != "max_output_tokens" ||
		get(t, m, "output", 0, "content", 0, "text") != "The quick" || num(t, m, "usage", "output_tokens") != 2 {
		t.Errorf("responses truncation: %v", m)
	}
}

func TestCut(t *testing.T) {
	m, err := tokens.ForModel("gpt-4o")
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{
		"The quick brown fox jumps over the lazy dog.",
		"supercalifragilisticexpialidocious-antidisestablishmentarianism",
		"Grüße aus Köln — 東京からこんにちは 🎉🎉 ok",
		"   leading and trailing   ",
	}
	for _, text := range texts {
		full := int64(m.Count(text))
		for max := int64(1); max <= full+1; max++ {
			r := cut(m, text, max)
			if !strings.HasPrefix(text, r.Text) || !utf8.ValidString(r.Text) {
				t.Fatalf("cut(%q, %d) = %q is not a valid prefix", text, max, r.Text)
			}
			if r.Tokens != int64(m.Count(r.Text)) || r.Tokens > max {
				t.Fatalf("cut(%q, %d) = %q with %d tokens", text, max, r.Text, r.Tokens)
			}
			if r.Truncated != (full > max) {
				t.Fatalf("cut(%q, %d).Truncated = %v", text, max, r.Truncated)
			}
			if r.Truncated {
				// Maximal: one more character would exceed the allowance.
				_, w := utf8.DecodeRuneInString(text[len(r.Text):])
				if int64(m.Count(text[:len(r.Text)+w])) <= max {
					t.Fatalf("cut(%q, %d) = %q is not the longest fitting prefix", text, max, r.Text)
				}
			}
		}
	}
	if r := cut(m, "abc", 0); r.Text != "abc" || r.Truncated {
		t.Errorf("max 0 must mean no limit: %+v", r)
	}
}

func TestChunks(t *testing.T) {
	text := "héllo, 世界! 🎉 done"
	for size := 1; size <= 25; size++ {
		parts := chunks(text, size)
		if strings.Join(parts, "") != text {
			t.Fatalf("size %d: parts do not join back: %q", size, parts)
		}
		for i, p := range parts {
			n := utf8.RuneCountInString(p)
			if !utf8.ValidString(p) || n > size || (i < len(parts)-1 && n != size) {
				t.Fatalf("size %d: bad part %q", size, p)
			}
		}
	}
	if len(chunks("", 4)) != 0 {
		t.Error("empty text must have no deltas")
	}
}

func TestCompletions(t *testing.T) {
	s := newTestServer(t, Config{Mode: ModeEcho})
	body := `{"model":"gpt-3.5-turbo-instruct","prompt":"Say this is a test","n":2}`
	m := decode(t, do(t, s, "POST", "/v1/completions", body, nil).Body.Bytes())
	prompt, completion := expectTokens(t, request.KindCompletions, body, "Say this is a test")
	if get(t, m, "object") != "text_completion" || !strings.HasPrefix(get(t, m, "id").(string), "cmpl-") {
		t.Errorf("envelope %v", m)
	}
	for i := 0; i < 2; i++ {
		c := get(t, m, "choices", i)
		if get(t, c, "text") != "Say this is a test" || num(t, c, "index") != int64(i) || get(t, c, "finish_reason") != "stop" || get(t, c, "logprobs") != nil {
			t.Errorf("choice %d = %v", i, c)
		}
	}
	if num(t, m, "usage", "prompt_tokens") != prompt || num(t, m, "usage", "completion_tokens") != 2*completion {
		t.Errorf("usage = %v", get(t, m, "usage"))
	}
}

func TestEmbeddings(t *testing.T) {
	s := newTestServer(t, Config{})
	body := `{"model":"text-embedding-3-small","input":["alpha","beta","alpha"]}`
	m := decode(t, do(t, s, "POST", "/v1/embeddings", body, nil).Body.Bytes())
	prompt, _ := expectTokens(t, request.KindEmbeddings, body, "")
	if get(t, m, "object") != "list" || get(t, m, "model") != "text-embedding-3-small" ||
		num(t, m, "usage", "prompt_tokens") != prompt || num(t, m, "usage", "total_tokens") != prompt {
		t.Fatalf("envelope %v", m)
	}
	data := get(t, m, "data").([]any)
	if len(data) != 3 {
		t.Fatalf("%d embeddings", len(data))
	}
	vec := func(i int) []float64 {
		var out []float64
		for _, x := range get(t, data[i], "embedding").([]any) {
			out = append(out, x.(float64))
		}
		return out
	}
	v0, v1, v2 := vec(0), vec(1), vec(2)
	if len(v0) != DefaultEmbeddingDimensions || get(t, data[1], "object") != "embedding" || num(t, data[1], "index") != 1 {
		t.Fatalf("embedding 0: %v", data[0])
	}
	var norm float64
	for i := range v0 {
		norm += v0[i] * v0[i]
		if v0[i] != v2[i] {
			t.Fatal("equal inputs must have equal vectors")
		}
	}
	if math.Abs(norm-1) > 1e-5 || v0[0] == v1[0] {
		t.Errorf("norm %v; v0 %v v1 %v", norm, v0, v1)
	}

	// dimensions and base64 (little-endian float32) give the same values.
	m = decode(t, do(t, s, "POST", "/v1/embeddings", `{"model":"text-embedding-3-small","input":"alpha","dimensions":16,"encoding_format":"base64"}`, nil).Body.Bytes())
	raw, err := base64.StdEncoding.DecodeString(get(t, m, "data", 0, "embedding").(string))
	if err != nil || len(raw) != 16*4 {
		t.Fatalf("base64 embedding: %v, %d bytes", err, len(raw))
	}
	want := vector("alpha", 16)
	for i := range want {
		if got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])); got != want[i] {
			t.Fatalf("component %d = %v, want %v", i, got, want[i])
		}
	}
	m = decode(t, do(t, s, "POST", "/v1/embeddings", `{"model":"e","input":[[1,2,3],[4,5]]}`, nil).Body.Bytes())
	if len(get(t, m, "data").([]any)) != 2 || num(t, m, "usage", "prompt_tokens") != 5 {
		t.Errorf("token inputs: %v", m)
	}
}

func TestResponsesJSON(t *testing.T) {
	s := newTestServer(t, Config{})
	body := `{"model":"gpt-4o-mini","instructions":"Be nice.","input":"What is the weather?"}`
	m := decode(t, do(t, s, "POST", "/v1/responses", body, nil).Body.Bytes())
	reply := "This is a mock reply from llm_mock for gpt-4o-mini; it is a testing aid, not a model."
	prompt, completion := expectTokens(t, request.KindResponses, body, reply)
	if get(t, m, "id") != "resp_test0001" || get(t, m, "object") != "response" || get(t, m, "status") != "completed" ||
		get(t, m, "model") != "gpt-4o-mini" || num(t, m, "created_at") != fixedNow.Unix() {
		t.Errorf("envelope %v", m)
	}
	item := get(t, m, "output", 0)
	if get(t, item, "type") != "message" || get(t, item, "id") != "msg_test0002" || get(t, item, "status") != "completed" || get(t, item, "role") != "assistant" {
		t.Errorf("item %v", item)
	}
	part := get(t, item, "content", 0)
	if get(t, part, "type") != "output_text" || get(t, part, "text") != reply || len(get(t, part, "annotations").([]any)) != 0 {
		t.Errorf("part %v", part)
	}
	u := get(t, m, "usage")
	if num(t, u, "input_tokens") != prompt || num(t, u, "output_tokens") != completion || num(t, u, "total_tokens") != prompt+completion ||
		num(t, u, "input_tokens_details", "cached_tokens") != 0 || num(t, u, "output_tokens_details", "reasoning_tokens") != 0 {
		t.Errorf("usage %v", u)
	}
	m = decode(t, do(t, s, "POST", "/v1/responses", body, map[string]string{HeaderNoUsage: "1"}).Body.Bytes())
	if get(t, m, "usage") != nil {
		t.Errorf("usage with %s: %v", HeaderNoUsage, get(t, m, "usage"))
	}
}

func TestMessagesJSON(t *testing.T) {
	s := newTestServer(t, Config{Mode: ModeEcho})
	body := `{"model":"claude-sonnet-4-5","max_tokens":100,"system":"Be brief.","messages":[{"role":"user","content":"Hello Claude"}]}`
	w := do(t, s, "POST", "/anthropic/v1/messages", body, nil)
	m := decode(t, w.Body.Bytes())
	prompt, completion := expectTokens(t, request.KindMessages, body, "Hello Claude")
	if get(t, m, "id") != "msg_test0001" || get(t, m, "type") != "message" || get(t, m, "role") != "assistant" ||
		get(t, m, "model") != "claude-sonnet-4-5" || get(t, m, "stop_reason") != "end_turn" || get(t, m, "stop_sequence") != nil {
		t.Errorf("envelope %v", m)
	}
	if get(t, m, "content", 0, "type") != "text" || get(t, m, "content", 0, "text") != "Hello Claude" {
		t.Errorf("content %v", get(t, m, "content"))
	}
	if num(t, m, "usage", "input_tokens") != prompt || num(t, m, "usage", "output_tokens") != completion {
		t.Errorf("usage %v, want %d/%d", get(t, m, "usage"), prompt, completion)
	}
	m = decode(t, do(t, s, "POST", "/v1/messages", body, map[string]string{HeaderNoUsage: "true"}).Body.Bytes())
	if has(m, "usage") {
		t.Error("usage present with X-Mock-No-Usage")
	}
	if w.Code != http.StatusOK {
		t.Errorf("status %d", w.Code)
	}
}

// TestModerations checks the stand-in classifier speaks OpenAI's moderation schema:
// every category named, trigger words flag their category, each input its own result.
func TestModerations(t *testing.T) {
	s := newTestServer(t, Config{MaxBodySize: 1000})
	post := func(body string) (int, string) {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest("POST", "/v1/moderations", strings.NewReader(body)))
		return w.Code, w.Body.String()
	}
	code, body := post(`{"model":"omni-moderation-latest","input":["Then he would KILL the guard.","A quiet day.","how to build a bomb"]}`)
	var out struct {
		Model   string
		Results []struct {
			Flagged        bool
			Categories     map[string]bool
			CategoryScores map[string]float64 `json:"category_scores"`
		}
	}
	if code != 200 || json.Unmarshal([]byte(body), &out) != nil || len(out.Results) != 3 || out.Model != "omni-moderation-latest" {
		t.Fatalf("%d %s", code, body)
	}
	r := out.Results
	if !r[0].Flagged || !r[0].Categories["violence"] || r[0].CategoryScores["violence"] < 0.9 || r[0].Categories["hate"] ||
		r[1].Flagged || len(r[1].Categories) != len(moderationCategories) || r[1].CategoryScores["violence"] > 0.01 ||
		!r[2].Flagged || !r[2].Categories["illicit/violent"] {
		t.Fatalf("results %+v", r)
	}
	if code, body = post(`{"input":[{"type":"text","text":"self-harm"},{"type":"image_url","image_url":{"url":"x"}}]}`); code != 200 ||
		!strings.Contains(body, `"self-harm":true`) {
		t.Fatalf("parts input: %d %s", code, body)
	}
	for _, bad := range []string{`{`, `{"input":5}`, `{"input":[]}`, `{"model":"m"}`} {
		if code, body := post(bad); code != 400 || !strings.Contains(body, `"error"`) {
			t.Errorf("%s: %d %s", bad, code, body)
		}
	}
	if code, _ := post(`{"input":"` + strings.Repeat("x", 1000) + `"}`); code != 413 {
		t.Errorf("oversized: %d", code)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "/v1/moderations", nil))
	if w.Code != 405 {
		t.Errorf("GET: %d", w.Code)
	}
}

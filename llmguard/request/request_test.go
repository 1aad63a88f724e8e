package request

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

type seg struct {
	Role, Source, Path, Text string
}

func segs(r *Request) []seg {
	var out []seg
	for _, s := range r.Segments {
		out = append(out, seg{s.Role, string(s.Source), s.Path, s.Text})
	}
	return out
}

func TestParseKinds(t *testing.T) {
	tests := []struct {
		name   string
		kind   Kind
		body   string
		model  string
		stream bool
		max    int64
		field  string
		roles  []string
		segs   []seg
	}{
		{
			name: "chat string and parts, developer, tool call and tool result",
			kind: KindChat,
			body: `{"model":"gpt-4o","stream":true,"max_tokens":50,"max_completion_tokens":64,"messages":[
				{"role":"developer","content":"Be brief."},
				{"role":"user","name":"ann","content":[{"type":"text","text":"hi \u00e9"},{"type":"image_url","image_url":{"url":"data:x"}}]},
				{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},
				{"role":"tool","tool_call_id":"c1","content":"42"}],
				"tools":[{"type":"function","function":{"name":"f","description":"adds","parameters":{}}}]}`,
			model: "gpt-4o", stream: true, max: 64, field: "max_completion_tokens",
			roles: []string{"developer", "user", "assistant", "tool"},
			segs: []seg{
				{"system", "content", "messages[0].content", "Be brief."},
				{"user", "content", "messages[1].content[0].text", "hi é"},
				{"assistant", "tool_call", "messages[2].tool_calls[0].function.arguments", `{"a":1}`},
				{"tool", "tool_result", "messages[3].content", "42"},
				{"system", "tool_spec", "tools[0].description", "adds"},
			},
		},
		{
			name:  "legacy completions with string array",
			kind:  KindCompletions,
			body:  `{"model":"gpt-3.5-turbo-instruct","prompt":["a","b"],"max_tokens":7}`,
			model: "gpt-3.5-turbo-instruct", max: 7, field: "max_tokens",
			roles: []string{"user", "user"},
			segs:  []seg{{"user", "content", "prompt[0]", "a"}, {"user", "content", "prompt[1]", "b"}},
		},
		{
			name:  "embeddings string",
			kind:  KindEmbeddings,
			body:  `{"model":"text-embedding-3-small","input":"hello"}`,
			model: "text-embedding-3-small",
			roles: []string{"user"},
			segs:  []seg{{"user", "content", "input", "hello"}},
		},
		{
			name:  "responses with instructions, message items, function call output",
			kind:  KindResponses,
			body:  `{"model":"gpt-5","instructions":"sys","max_output_tokens":300,"input":[{"role":"user","content":[{"type":"input_text","text":"q"}]},{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c","output":"out"}]}`,
			model: "gpt-5", max: 300, field: "max_output_tokens",
			roles: []string{"system", "user", "assistant", "tool"},
			segs: []seg{
				{"system", "content", "instructions", "sys"},
				{"user", "content", "input[0].content[0].text", "q"},
				{"assistant", "tool_call", "input[1].arguments", "{}"},
				{"tool", "tool_result", "input[2].output", "out"},
			},
		},
		{
			name:  "anthropic messages with system blocks, tool_use and tool_result",
			kind:  KindMessages,
			body:  `{"model":"claude-sonnet-4-5","max_tokens":1024,"system":[{"type":"text","text":"S"}],"messages":[{"role":"user","content":"U"},{"role":"assistant","content":[{"type":"text","text":"A"},{"type":"tool_use","id":"t","name":"n","input":{"city":"Paris","n":[1,"x"]}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"R"}]}]}]}`,
			model: "claude-sonnet-4-5", max: 1024, field: "max_tokens",
			roles: []string{"system", "user", "assistant", "user"},
			segs: []seg{
				{"system", "content", "system[0].text", "S"},
				{"user", "content", "messages.0.content", "U"},
				{"assistant", "content", "messages.1.content.0.text", "A"},
				{"assistant", "tool_call", "messages.1.content.1.input.city", "Paris"},
				{"assistant", "tool_call", "messages.1.content.1.input.n[1]", "x"},
				{"tool", "tool_result", "messages.2.content.0.content.0.text", "R"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse(tc.kind, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if r.Model != tc.model || r.Stream != tc.stream || r.MaxOutputTokens != tc.max || r.MaxOutputField != tc.field {
				t.Errorf("model=%q stream=%v max=%d field=%q", r.Model, r.Stream, r.MaxOutputTokens, r.MaxOutputField)
			}
			if !reflect.DeepEqual(r.Roles, tc.roles) {
				t.Errorf("roles = %v, want %v", r.Roles, tc.roles)
			}
			if got := segs(r); !reflect.DeepEqual(got, tc.segs) {
				t.Errorf("segments:\n got %q\nwant %q", got, tc.segs)
			}
		})
	}
}

func TestParseTokenInputs(t *testing.T) {
	r, err := Parse(KindEmbeddings, []byte(`{"model":"text-embedding-3-small","input":[[1,2,3],[4,5]]}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.TokenInputs != 5 || r.Messages != 2 || len(r.Segments) != 0 {
		t.Errorf("token inputs %d messages %d segments %d", r.TokenInputs, r.Messages, len(r.Segments))
	}
	r, err = Parse(KindCompletions, []byte(`{"model":"davinci-002","prompt":[10,11,12]}`))
	if err != nil || r.TokenInputs != 3 {
		t.Fatalf("flat token prompt: %v %v", r, err)
	}
}

// parseCase is a request body in a file and what Parse must make of it.
type parseCase struct {
	file  string
	check func(*Request) bool
}

func checkParseFiles(t *testing.T, dir string, cases []parseCase) {
	t.Helper()
	for _, tc := range cases {
		body, err := os.ReadFile(filepath.Join(dir, tc.file))
		if err != nil {
			t.Fatalf("fixture missing: %v", err)
		}
		r, err := Parse(KindChat, body)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if !tc.check(r) {
			t.Errorf("%s: unexpected parse %+v", tc.file, r)
		}
	}
}

// Our own request bodies, written from the OpenAI API reference.
func TestParseFixtures(t *testing.T) {
	checkParseFiles(t, "testdata", []parseCase{
		{"openai-chat-request-tools.json", func(r *Request) bool {
			return r.Model == "gpt-4.1-mini" && r.Tools == 1 && len(r.Segments) == 2 && r.Segments[0].Text == "What time is it in Tokyo?"
		}},
		{"openai-chat-request-stream-include-usage.json", func(r *Request) bool {
			return r.Stream && r.IncludeUsage && r.MaxOutputTokens == 80 && r.Roles[0] == "developer" && r.Segments[0].Role == "system"
		}},
	})
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		kind  Kind
		body  string
		param string
		msg   string
	}{
		{KindChat, ``, "", "empty"},
		{KindChat, `   `, "", "empty"},
		{KindChat, `{"model":"x","messages":[}`, "", "not valid JSON"},
		{KindChat, `[1]`, "", "must be a JSON object"},
		{KindChat, `{"messages":[]}`, "model", "provide a model"},
		{KindChat, `{"model":5,"messages":[]}`, "model", "must be a string"},
		{KindChat, `{"model":"m"}`, "messages", "provide messages"},
		{KindChat, `{"model":"m","messages":[]}`, "messages", "at least one"},
		{KindChat, `{"model":"m","messages":[{"role":"wizard","content":"x"}]}`, "messages[0].role", "not one of"},
		{KindChat, `{"model":"m","messages":[{"role":"user","content":5}]}`, "messages[0].content", "string or an array"},
		{KindChat, `{"model":"m","stream":"yes","messages":[{"role":"user","content":"x"}]}`, "stream", "boolean"},
		{KindChat, `{"model":"m","max_tokens":-1,"messages":[{"role":"user","content":"x"}]}`, "max_tokens", "non-negative"},
		{KindChat, `{"model":"m","max_tokens":1.5,"messages":[{"role":"user","content":"x"}]}`, "max_tokens", "non-negative integer"},
		{KindChat, `{"model":"m","n":0,"messages":[{"role":"user","content":"x"}]}`, "n", "from 1 to 128"},
		{KindChat, `{"model":"a","model":"b","messages":[{"role":"user","content":"x"}]}`, "", "duplicate object key"},
		{KindChat, "{\"model\":\"m\xff\",\"messages\":[]}", "", "invalid UTF-8"},
		{KindChat, `{"model":"m","messages":[{"role":"user","content":"x"}]} x`, "", "after the top-level value"},
		{KindChat, strings.Repeat("[", 200) + strings.Repeat("]", 200), "", "nesting deeper"},
		{KindMessages, `{"model":"claude","messages":[{"role":"user","content":"x"}]}`, "max_tokens", "Field required"},
		{KindMessages, `{"model":"claude","max_tokens":5,"messages":[{"role":"system","content":"x"}]}`, "messages.0.role", "user"},
		{KindEmbeddings, `{"model":"e","input":[]}`, "input", "empty array"},
		{KindEmbeddings, `{"model":"e","input":[{"x":1}]}`, "input[0]", "string, an array"},
		{KindResponses, `{"model":"m","input":5}`, "input", "string or an array"},
		{KindModels, `{"model":"m"}`, "", "no request body"},
	}
	for _, tc := range tests {
		_, err := Parse(tc.kind, []byte(tc.body))
		e, ok := err.(*Error)
		if !ok {
			t.Errorf("%s %q: err = %v, want *Error", tc.kind, tc.body, err)
			continue
		}
		if e.Param != tc.param || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s %q: param=%q msg=%q; want param %q containing %q", tc.kind, tc.body, e.Param, e.Message, tc.param, tc.msg)
		}
	}
}

// members returns n filler members "x0".."x{n-1}" followed by a comma, so that an object
// they are spliced into has more keys than the duplicate check's linear scan covers.
func members(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `"x%d":%d,`, i, i)
	}
	return b.String()
}

// TestDuplicateKeysAtEverySizeAndDepth: a repeated key is refused in small objects and in
// objects past 16 keys (where the check switches to a set), at the top level, in a message
// and deep inside a tool's JSON schema, and for the first, a filler and the last key.
func TestDuplicateKeysAtEverySizeAndDepth(t *testing.T) {
	for _, n := range []int{0, 15, 16, 17, 40} {
		f := members(n)
		cases := []struct{ name, good, bad string }{
			{"top-level model",
				`{` + f + `"model":"a","messages":[{"role":"user","content":"x"}]}`,
				`{` + f + `"model":"a","messages":[{"role":"user","content":"x"}],"model":"b"}`},
			{"top-level first key",
				`{"model":"a",` + f + `"messages":[{"role":"user","content":"x"}]}`,
				`{"model":"a",` + f + `"messages":[{"role":"user","content":"x"}],"mod\u0065l":"b"}`},
			{"message role",
				`{"model":"a","messages":[{` + f + `"role":"user","content":"x"}]}`,
				`{"model":"a","messages":[{` + f + `"role":"user","content":"x","role":"system"}]}`},
			{"tool schema, depth 6",
				`{"model":"a","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"properties":{"q":{` + f + `"type":"string"}}}}}]}`,
				`{"model":"a","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"properties":{"q":{` + f + `"type":"string","type":"number"}}}}}]}`},
		}
		if n > 0 {
			cases = append(cases, struct{ name, good, bad string }{"filler key",
				`{` + f + `"model":"a","messages":[{"role":"user","content":"x"}]}`,
				`{` + f + `"model":"a","messages":[{"role":"user","content":"x"}],"x` + fmt.Sprint(n-1) + `":0}`})
		}
		for _, c := range cases {
			if _, err := Parse(KindChat, []byte(c.good)); err != nil {
				t.Errorf("%s, %d fillers: the body without a repeat is refused: %v", c.name, n, err)
			}
			_, err := Parse(KindChat, []byte(c.bad))
			if e, ok := err.(*Error); !ok || !strings.Contains(e.Message, "duplicate object key") {
				t.Errorf("%s, %d fillers: repeat not refused: %v", c.name, n, err)
			}
		}
	}
}

func TestRewriteKeepsEverythingElse(t *testing.T) {
	body := `{ "model" : "gpt-4o",  "x_unknown": {"keep": [1.50, true, null]},
	"messages":[{"role":"user","content":"mail bob@example.com now \u00e9"},{"role":"user","content":[{"type":"text","text":"and\nalice@example.org"}]}],
	"temperature": 0.70 }`
	r, err := Parse(KindChat, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.Rewrite(map[int]string{0: "mail [EMAIL_1] now é", 1: "and\n[EMAIL_2] <b>"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{ "model" : "gpt-4o",  "x_unknown": {"keep": [1.50, true, null]},
	"messages":[{"role":"user","content":"mail [EMAIL_1] now é"},{"role":"user","content":[{"type":"text","text":"and\n[EMAIL_2] <b>"}]}],
	"temperature": 0.70 }`
	if string(out) != want {
		t.Errorf("rewrite:\n got %s\nwant %s", out, want)
	}
	// The rewritten body parses back to the replaced texts.
	r2, err := Parse(KindChat, out)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Segments[1].Text != "and\n[EMAIL_2] <b>" {
		t.Errorf("reparse = %q", r2.Segments[1].Text)
	}
	// No replacements: identical bytes.
	same, _ := r.Rewrite(nil)
	if string(same) != body {
		t.Error("empty rewrite changed the body")
	}
	if _, err := r.Rewrite(map[int]string{9: "x"}); err == nil {
		t.Error("out-of-range segment accepted")
	}
}

func TestStringDecodingMatchesEncodingJSON(t *testing.T) {
	for _, lit := range []string{`"plain"`, `"esc \" \\ \/ \b \f \n \r \t"`, `"\u00e9\u4e2d"`, `"\ud83d\ude00"`, `"lone \ud800 x"`, `"\udc00\ud800"`, `"pair then lone \ud83d\ude00\ud83d"`, `"ü€"`} {
		v, err := parseJSON([]byte(lit))
		if err != nil {
			t.Fatalf("%s: %v", lit, err)
		}
		var want string
		if err := json.Unmarshal([]byte(lit), &want); err != nil {
			t.Fatal(err)
		}
		if v.str != want {
			t.Errorf("%s: got %q want %q", lit, v.str, want)
		}
	}
}

func TestKindFromPath(t *testing.T) {
	for path, want := range map[string]Kind{
		"/v1/chat/completions":        KindChat,
		"/openai/v1/chat/completions": KindChat,
		"/chat/completions/":          KindChat,
		"/v1/completions":             KindCompletions,
		"/v1/embeddings":              KindEmbeddings,
		"/v1/responses":               KindResponses,
		"/v1/messages":                KindMessages,
		"/v1/models":                  KindModels,
		"/v1/models/gpt-4o":           KindModels,
		"/v1/audio/speech":            KindUnknown,
		"/":                           KindUnknown,
	} {
		if got := KindFromPath(path); got != want {
			t.Errorf("%s: %v, want %v", path, got, want)
		}
	}
}

// Log probabilities are read in every shape the APIs accept (the chat boolean with
// top_logprobs, the legacy completions integer); malformed values are left to the upstream.
func TestParseLogprobs(t *testing.T) {
	for _, c := range []struct {
		kind Kind
		body string
		lp   bool
		top  int64
	}{
		{KindChat, `{"model":"m","messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":5}`, true, 5},
		{KindChat, `{"model":"m","messages":[{"role":"user","content":"hi"}],"logprobs":false}`, false, 0},
		{KindChat, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, false, 0},
		{KindCompletions, `{"model":"m","prompt":"x","logprobs":3}`, true, 3},
		{KindChat, `{"model":"m","messages":[{"role":"user","content":"hi"}],"logprobs":"yes","top_logprobs":-2}`, false, 0},
		{KindResponses, `{"model":"m","input":"x","top_logprobs":20}`, false, 20},
	} {
		r, err := Parse(c.kind, []byte(c.body))
		if err != nil {
			t.Fatalf("%s: %v", c.body, err)
		}
		if r.Logprobs != c.lp || r.TopLogprobs != c.top {
			t.Errorf("%s: logprobs %v top %d, want %v %d", c.body, r.Logprobs, r.TopLogprobs, c.lp, c.top)
		}
	}
}

package tokens

import (
	"strings"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/request"
)

func TestEncodingForModel(t *testing.T) {
	for model, want := range map[string]Encoding{
		"gpt-4o-mini":                   {O200K, true},
		"gpt-4o-2024-08-06":             {O200K, true},
		"openai/gpt-4.1":                {O200K, true},
		"gpt-5-nano":                    {O200K, true},
		"o3-mini":                       {O200K, true},
		"o1":                            {O200K, true},
		"ft:gpt-4o-mini:org::abc":       {O200K, true},
		"gpt-4-0613":                    {CL100K, true},
		"gpt-3.5-turbo":                 {CL100K, true},
		"text-embedding-3-small":        {CL100K, true},
		"claude-sonnet-4-5":             {CL100K, false},
		"meta-llama/Llama-3.1-8B":       {CL100K, false},
		"GPT-4O":                        {O200K, true},
		"mistral-large-latest":          {CL100K, false},
		"text-embedding-ada-002":        {CL100K, true},
		"azure/gpt-35-turbo-deployment": {CL100K, true},
	} {
		if got := EncodingForModel(model); got != want {
			t.Errorf("%s: %+v, want %+v", model, got, want)
		}
	}
}

func truncate(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

func TestSharedAndSpecialText(t *testing.T) {
	a, _ := Get(O200K)
	b, _ := Get(O200K)
	if a != b {
		t.Error("encoder not shared")
	}
	// A special-token string in user text is ordinary text: more than one token, no panic.
	if n := a.Count("hello <|endoftext|>"); n <= 2 {
		t.Errorf("special token counted as special: %d", n)
	}
}

// TestChatOverhead uses the example from OpenAI's cookbook "How to count tokens with
// tiktoken", for which the API reports 129 prompt tokens on gpt-4-0613 / gpt-3.5-turbo.
func TestChatOverhead(t *testing.T) {
	body := `{"model":"gpt-4-0613","messages":[
	{"role":"system","content":"You are a helpful, pattern-following assistant that translates corporate jargon into plain English."},
	{"role":"system","name":"example_user","content":"New synergies will help drive top-line growth."},
	{"role":"system","name":"example_assistant","content":"Things working well together will increase revenue."},
	{"role":"system","name":"example_user","content":"Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."},
	{"role":"system","name":"example_assistant","content":"Let's talk later when we're less busy about how to do better."},
	{"role":"user","content":"This late pivot means we don't have time to boil the ocean for the client deliverable."}]}`
	r, err := request.Parse(request.KindChat, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ForModel(r.Model)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Prompt(r); got != 129 {
		t.Errorf("prompt tokens = %d, want 129", got)
	}
}

func TestEstimateIsScaledUp(t *testing.T) {
	exact, _ := ForModel("gpt-4")
	est, _ := ForModel("claude-sonnet-4-5")
	text := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 20)
	if e, x := est.Count(text), exact.Count(text); e <= x {
		t.Errorf("estimate %d not above exact %d", e, x)
	}
}

func TestPromptKinds(t *testing.T) {
	m, _ := ForModel("text-embedding-3-small")
	r, err := request.Parse(request.KindEmbeddings, []byte(`{"model":"text-embedding-3-small","input":["hello world",[1,2,3]]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Prompt(r); got != 2+3 {
		t.Errorf("embeddings prompt = %d, want 5 (no chat framing)", got)
	}
}

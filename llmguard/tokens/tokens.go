// Package tokens counts tokens the way the upstream model will: exactly for OpenAI model
// families (cl100k_base, o200k_base) and by a documented estimate for the others. Counts
// drive limits, budgets and prompt-token caps, so they must be exact where they can be and
// never cheaper to evade than the real thing.
//
// It must never call the network (vocabularies are embedded) and never treat text as
// special tokens: user text such as "<|endoftext|>" is counted as ordinary text.
package tokens

import (
	"math"
	"strings"

	"github.com/llmguard/caddy-llmguard/llmguard/tokens/bpe"
)

// Encoding names.
const (
	CL100K = "cl100k_base"
	O200K  = "o200k_base"
)

// Counter counts tokens of text under one encoding. Implementations are safe for
// concurrent use.
type Counter interface {
	Count(text string) int
}

// Encoding describes how a model's tokens are counted.
type Encoding struct {
	// Name is the BPE encoding used for counting.
	Name string
	// Exact is false for model families whose tokenizer is not public or not embedded;
	// their counts are estimates (see EstimateFactor).
	Exact bool
}

// EstimateFactor scales cl100k_base counts for non-OpenAI model families (Claude, Llama,
// Mistral, Gemini, …). Their tokenizers split English prose into roughly as many tokens
// as cl100k_base, and code and non-Latin scripts into more; 1.2× errs on the side of
// reserving too much, which the limiter settles back against the upstream's reported
// usage after the call.
const EstimateFactor = 1.2

// o200kPrefixes are the model families tokenised with o200k_base.
var o200kPrefixes = []string{"gpt-4o", "chatgpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "gpt-oss", "omni-moderation", "codex-"}

// cl100kPrefixes are the older OpenAI families tokenised with cl100k_base.
var cl100kPrefixes = []string{"gpt-4", "gpt-3.5", "gpt-35", "text-embedding-3", "text-embedding-ada-002", "davinci-002", "babbage-002"}

// EncodingForModel maps a model name to its encoding. Provider prefixes such as
// "openai/" (LiteLLM, OpenRouter) and Azure-style dated suffixes are tolerated.
func EncodingForModel(model string) Encoding {
	m := strings.ToLower(model)
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	m = strings.TrimPrefix(m, "ft:") // fine-tuned models: ft:gpt-4o-mini:org::id
	for _, p := range o200kPrefixes {
		if strings.HasPrefix(m, p) {
			return Encoding{Name: O200K, Exact: true}
		}
	}
	for _, p := range cl100kPrefixes {
		if strings.HasPrefix(m, p) {
			return Encoding{Name: CL100K, Exact: true}
		}
	}
	return Encoding{Name: CL100K, Exact: false}
}

// Get returns the shared counter for an encoding. Counting uses the package bpe: exact
// against tiktoken (which stays its vocabulary source and test reference), linear in the
// input and allocation-free, because every request is counted on the hot path and a
// quadratic counter would be a denial-of-service hole.
func Get(name string) (Counter, error) {
	c, err := bpe.Get(name)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Model is a counter for one model: exact for OpenAI families, scaled by EstimateFactor
// for the others.
type Model struct {
	Encoding Encoding
	counter  Counter
}

// ForModel returns the counter for a model.
func ForModel(model string) (*Model, error) {
	e := EncodingForModel(model)
	c, err := Get(e.Name)
	if err != nil {
		return nil, err
	}
	return &Model{Encoding: e, counter: c}, nil
}

// Count counts text, scaled for estimated families.
func (m *Model) Count(text string) int {
	return m.scale(m.counter.Count(text))
}

func (m *Model) scale(n int) int {
	if m.Encoding.Exact {
		return n
	}
	return int(math.Ceil(float64(n) * EstimateFactor))
}

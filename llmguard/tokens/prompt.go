package tokens

import "github.com/llmguard/caddy-llmguard/llmguard/request"

// Chat-format overhead, as OpenAI documents it for its chat models (the OpenAI cookbook's
// "How to count tokens with tiktoken", which matches the API's reported prompt_tokens for
// gpt-3.5-turbo-0613 onwards, gpt-4 and gpt-4o): every message costs 3 tokens of framing
// plus its role, a name costs 1 more, and the reply is primed with 3 tokens.
const (
	tokensPerMessage = 3
	tokensPerName    = 1
	replyPriming     = 3
	// imageTokens is a flat estimate per image/audio/file part: 85 is OpenAI's cost of a
	// low-detail image; the real cost depends on size and detail, which the gateway does
	// not decode.
	imageTokens = 85
)

// Prompt counts the prompt tokens of a parsed request for its model. Chat, Responses and
// Messages requests include the per-message framing; completions and embeddings count
// their inputs (pre-tokenised inputs count as given). Tool definitions are counted as
// their JSON text, an estimate of the schema rendering the upstream uses.
func (m *Model) Prompt(r *request.Request) int64 {
	var n int
	for _, s := range r.Segments {
		if s.Source == request.SourceToolSpec {
			continue // counted with ToolsJSON below
		}
		n += m.counter.Count(s.Text)
	}
	switch r.Kind {
	case request.KindChat, request.KindResponses, request.KindMessages:
		for i, role := range r.Roles {
			n += tokensPerMessage + m.counter.Count(role)
			if r.Names[i] != "" {
				n += tokensPerName + m.counter.Count(r.Names[i])
			}
		}
		n += replyPriming
	}
	if len(r.ToolsJSON) > 0 {
		n += m.counter.Count(string(r.ToolsJSON))
	}
	n = m.scale(n) + r.Images*imageTokens
	return int64(n) + r.TokenInputs
}

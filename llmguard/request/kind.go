package request

import "strings"

// Kind is the API endpoint a request is addressed to. It decides how the body is parsed,
// which error shape the client expects and how the response is read.
type Kind int

const (
	KindUnknown     Kind = iota
	KindChat             // OpenAI POST /v1/chat/completions
	KindCompletions      // OpenAI legacy POST /v1/completions
	KindEmbeddings       // OpenAI POST /v1/embeddings
	KindResponses        // OpenAI POST /v1/responses
	KindMessages         // Anthropic POST /v1/messages
	KindModels           // GET /v1/models (OpenAI and Anthropic list the same path)
)

var kindNames = [...]string{"unknown", "chat", "completions", "embeddings", "responses", "messages", "models"}

// String returns the short name used in placeholders, logs, metrics and configuration
// ("chat", "completions", "embeddings", "responses", "messages", "models").
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// ParseKind is the inverse of String; it reports false for an unknown name.
func ParseKind(name string) (Kind, bool) {
	for i, n := range kindNames {
		if i > 0 && n == name {
			return Kind(i), true
		}
	}
	return KindUnknown, false
}

// Anthropic reports whether clients of this endpoint expect Anthropic-shaped bodies
// (errors, streams).
func (k Kind) Anthropic() bool { return k == KindMessages }

// KindFromPath maps a request path to its endpoint. Gateways are often mounted under a
// prefix (e.g. /openai/v1/chat/completions, or /api/v1/... for vLLM-style servers), so the
// match is on the path's suffix after the last "/v1/" segment; a path without "/v1/" is
// matched on its suffix as well, which is what OpenAI-compatible servers mounted at the root
// (such as /chat/completions) use.
func KindFromPath(path string) Kind {
	p := strings.TrimRight(path, "/")
	if i := strings.LastIndex(p, "/v1/"); i >= 0 {
		p = p[i+len("/v1"):]
	}
	switch {
	case strings.HasSuffix(p, "/chat/completions"):
		return KindChat
	case strings.HasSuffix(p, "/completions"):
		return KindCompletions
	case strings.HasSuffix(p, "/embeddings"):
		return KindEmbeddings
	case strings.HasSuffix(p, "/responses"):
		return KindResponses
	case strings.HasSuffix(p, "/messages"):
		return KindMessages
	case strings.HasSuffix(p, "/models"), strings.HasPrefix(p, "/models/"):
		return KindModels
	}
	return KindUnknown
}

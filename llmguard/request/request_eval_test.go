//go:build eval

package request

import (
	"path/filepath"
	"testing"
)

// fixtures holds the public wire recordings: shared/ sits beside the repository root.
var fixtures = filepath.Join("..", "..", "..", "shared", "data", "api-fixtures")

func TestCorpusParseFixtures(t *testing.T) {
	checkParseFiles(t, fixtures, []parseCase{
		{"openai-chat-request-tools.json", func(r *Request) bool {
			return r.Model == "gpt-5-nano" && r.Tools == 1 && len(r.Segments) == 2 && r.Segments[0].Text == "What is the weather like in San Francisco?"
		}},
		{"openai-chat-request-stream-include-usage.json", func(r *Request) bool {
			return r.Stream && r.IncludeUsage && r.MaxOutputTokens == 100 && r.Roles[0] == "developer" && r.Segments[0].Role == "system"
		}},
	})
}

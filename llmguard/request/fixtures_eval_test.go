//go:build eval

package request

import (
	"os"
	"path/filepath"
	"testing"
)

// fixtures is where the shared wire-format material lives: shared/ sits beside the
// repository root, locally and in CI.
var fixtures = filepath.Join("..", "..", "..", "shared", "data", "api-fixtures")

func TestParseFixtures(t *testing.T) {
	for _, tc := range []struct {
		file  string
		check func(*Request) bool
	}{
		{"openai-chat-request-tools.json", func(r *Request) bool {
			return r.Model == "gpt-5-nano" && r.Tools == 1 && len(r.Segments) == 2 && r.Segments[0].Text == "What is the weather like in San Francisco?"
		}},
		{"openai-chat-request-stream-include-usage.json", func(r *Request) bool {
			return r.Stream && r.IncludeUsage && r.MaxOutputTokens == 100 && r.Roles[0] == "developer" && r.Segments[0].Role == "system"
		}},
	} {
		body, err := os.ReadFile(filepath.Join(fixtures, tc.file))
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

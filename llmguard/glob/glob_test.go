package glob

import (
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"*", "", true},
		{"*", "gpt-4o", true},
		{"gpt-4o*", "gpt-4o-mini", true},
		{"gpt-4o*", "gpt-4", false},
		{"gpt-?o", "gpt-4o", true},
		{"gpt-?o", "gpt-40o", false},
		{"meta-llama/*", "meta-llama/Llama-3.1-8B", true},
		{"*/Llama-*-8B", "meta-llama/Llama-3.1-8B", true},
		{"claude-*-4-*", "claude-sonnet-4-5", true},
		{"claude-*-4-*", "claude-sonnet-3-5", false},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
		{"GPT-4o", "gpt-4o", false},
		{"exact", "exact", true},
		{"exact", "exactly", false},
		{"**", "x", true},
	}
	for _, c := range cases {
		if got := Match(c.p, c.s); got != c.want {
			t.Errorf("Match(%q, %q) = %v", c.p, c.s, got)
		}
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("gpt-*", "gpt-4o")
	f.Add("*a*a*a*a*b", strings.Repeat("a", 100))
	f.Fuzz(func(t *testing.T, p, s string) {
		got := Match(p, s)
		if !strings.ContainsAny(p, "*?") && got != (p == s) {
			t.Fatalf("literal pattern %q vs %q: %v", p, s, got)
		}
		if p == "*" && !got {
			t.Fatal("* must match everything")
		}
	})
}

func TestMatchAnyAndValid(t *testing.T) {
	if !MatchAny([]string{"a*", "gpt-*"}, "gpt-4o") || MatchAny([]string{"a*"}, "gpt-4o") || MatchAny(nil, "x") {
		t.Error("MatchAny")
	}
	if Valid("") == nil || Valid("gpt\n*") == nil || Valid("gpt-*") != nil {
		t.Error("Valid")
	}
}

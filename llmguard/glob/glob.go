// Package glob matches model names and identities against admin-written patterns: "*"
// is any run of characters (including "/", since model names such as
// "meta-llama/Llama-3.1-8B" contain slashes, which path.Match would not cross) and "?" is
// one byte. It is shared by the policies of llm_auth and llm_inspect so that a pattern
// means the same everywhere.
//
// It must stay linear-time in practice (no backtracking blow-up) because patterns are
// matched on every request.
package glob

import "fmt"

// MatchAny reports whether any of the glob patterns matches s.
func MatchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if Match(p, s) {
			return true
		}
	}
	return false
}

// Valid rejects empty patterns and patterns that cannot be meant (control characters).
func Valid(p string) error {
	if p == "" {
		return fmt.Errorf("empty model pattern")
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("model pattern %q contains a control character", p)
		}
	}
	return nil
}

// Match matches s against pattern, where "*" is any run of characters (including "/",
// since model names such as "meta-llama/Llama-3.1-8B" contain slashes, which path.Match
// would not cross) and "?" is one character. Matching is case-sensitive, as model names
// are. It runs in O(len(pattern)·len(s)) at worst, with no backtracking blow-up.
func Match(pattern, s string) bool {
	px, sx := 0, 0
	starP, starS := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pattern) && (pattern[px] == '?' || pattern[px] == s[sx]) && pattern[px] != '*':
			px++
			sx++
		case px < len(pattern) && pattern[px] == '*':
			starP, starS = px, sx
			px++
		case starP >= 0:
			starS++
			px, sx = starP+1, starS
		default:
			return false
		}
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}

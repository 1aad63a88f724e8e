package bpe

// The pre-tokenizers below reimplement, by hand, the split regexes that
// tiktoken-go compiles with regexp2 (a backtracking engine with .NET
// semantics: alternatives are tried left to right and the first one that
// matches wins, not the longest). Each function returns the end of the
// match that starts at byte offset i of s. Every position of any input is
// matched by some alternative, so pieces tile the text without gaps, and a
// call only inspects runes it consumes plus a bounded number behind them.
// Where a quantifier would backtrack, the backtracking outcome is derived in
// closed form (see the comments), which keeps the whole split linear.

// nextCL100K matches one piece of cl100k_base:
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//	 ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
func nextCL100K(s string, i int) int {
	if n := contraction(s, i); n > 0 {
		return i + n
	}
	r0, c0, n0 := decode(s, i)
	if c0&clL != 0 {
		return scan(s, i+n0, clL)
	}
	j := i + n0
	if isPrefix(r0, c0) && j < len(s) {
		if _, c1, n1 := decode(s, j); c1&clL != 0 {
			return scan(s, j+n1, clL)
		}
	}
	if c0&clN != 0 {
		return digits(s, j)
	}
	if r0 == ' ' && j < len(s) {
		if _, c1, n1 := decode(s, j); isOther(c1) {
			return scanNewlines(s, scanOther(s, j+n1), false)
		}
	}
	if isOther(c0) {
		return scanNewlines(s, scanOther(s, j), false)
	}
	return whitespace(s, i)
}

// nextO200K matches one piece of o200k_base:
//
//	[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|
//	[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|
//	\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
func nextO200K(s string, i int) int {
	r0, c0, n0 := decode(s, i)
	j := i + n0
	pre := isPrefix(r0, c0) && j < len(s)
	// First alternative, with the optional prefix taken, then without it.
	if pre {
		if e := upperLower(s, j); e >= 0 {
			return e + contraction(s, e)
		}
	}
	if e := upperLower(s, i); e >= 0 {
		return e + contraction(s, e)
	}
	// Second alternative, same order.
	if pre {
		if e := upperThenLower(s, j); e >= 0 {
			return e + contraction(s, e)
		}
	}
	if e := upperThenLower(s, i); e >= 0 {
		return e + contraction(s, e)
	}
	if c0&clN != 0 {
		return digits(s, j)
	}
	if r0 == ' ' && j < len(s) {
		if _, c1, n1 := decode(s, j); isOther(c1) {
			return scanNewlines(s, scanOther(s, j+n1), true)
		}
	}
	if isOther(c0) {
		return scanNewlines(s, scanOther(s, j), true)
	}
	return whitespace(s, i)
}

// upperLower matches U*Lc+ at i (U and Lc as in the class bits) and returns
// its end, or -1. U* is greedy, so the engine first tries the maximal U run
// [i,e); Lc+ then succeeds iff the rune at e is in Lc, which (being outside
// U) means Ll, and it extends over the maximal Lc run. Otherwise U* gives
// back runes one at a time until the rune at its end is in Lc; the first
// such rune from the right is the last rune in [i,e) that is in both U and
// Lc (Lm, Lo, M), and Lc+ stops right after it because everything after it
// up to e is Lu/Lt, and the rune at e is not in Lc.
func upperLower(s string, i int) int {
	last := -1
	e := i
	for e < len(s) {
		_, c, n := decode(s, e)
		if c&clU == 0 {
			if c&clLc != 0 {
				return scan(s, e+n, clLc)
			}
			break
		}
		e += n
		if c&clLc != 0 {
			last = e
		}
	}
	return last
}

// upperThenLower matches U+Lc* at i and returns its end, or -1. Both
// quantifiers are greedy and nothing follows them that can fail (the
// contraction is optional), so the first success is maximal U then maximal Lc.
func upperThenLower(s string, i int) int {
	e := scan(s, i, clU)
	if e == i {
		return -1
	}
	return scan(s, e, clLc)
}

// whitespace matches \s*[\r\n]+|\s+(?!\S)|\s+ at i, where s[i] is \s.
//
// \s*[\r\n]+: \s* takes the maximal run [i,e) and gives runes back until
// [\r\n]+ can start; that happens at the last \r or \n of the run, and
// [\r\n]+ stops right after it, so the match ends after the last newline.
// \s+(?!\S): at the end of the text the whole run matches; otherwise the
// rune at e is \S, and giving back one rune satisfies the lookahead,
// provided the run is at least two runes long. \s+ takes the rest (a single
// whitespace rune followed by non-space).
func whitespace(s string, i int) int {
	e, lastNL, lastStart := i, -1, i
	for e < len(s) {
		r, c, n := decode(s, e)
		if c&clS == 0 {
			break
		}
		lastStart = e
		e += n
		if r == '\r' || r == '\n' {
			lastNL = e
		}
	}
	if lastNL >= 0 {
		return lastNL
	}
	if e == len(s) || lastStart == i {
		return e
	}
	return lastStart
}

// scan returns the end of the maximal run of runes at i having any bit of mask.
func scan(s string, i int, mask uint8) int {
	for i < len(s) {
		_, c, n := decode(s, i)
		if c&mask == 0 {
			break
		}
		i += n
	}
	return i
}

// scanOther returns the end of the maximal run of [^\s\p{L}\p{N}] at i.
func scanOther(s string, i int) int {
	for i < len(s) {
		_, c, n := decode(s, i)
		if !isOther(c) {
			break
		}
		i += n
	}
	return i
}

// scanNewlines returns the end of the maximal run of [\r\n]* (or [\r\n/]*
// for o200k) at i. All three are ASCII, so bytes suffice.
func scanNewlines(s string, i int, slash bool) int {
	for i < len(s) && (s[i] == '\r' || s[i] == '\n' || (slash && s[i] == '/')) {
		i++
	}
	return i
}

// digits matches the rest of \p{N}{1,3} after the first number rune ended at i.
func digits(s string, i int) int {
	for k := 0; k < 2 && i < len(s); k++ {
		_, c, n := decode(s, i)
		if c&clN == 0 {
			break
		}
		i += n
	}
	return i
}

package bpe

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// Character classes used by the split patterns. A rune may carry several bits.
// The bits mirror exactly the classes that appear in tiktoken's patterns:
//
//	clL   \p{L}                                  (cl100k, o200k)
//	clN   \p{N}
//	clS   \s  — regexp2 (tiktoken-go's engine) defines \s as unicode.IsSpace,
//	      which includes U+0085 and U+00A0; python tiktoken agrees.
//	clU   [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]        (o200k "upper" class)
//	clLc  [\p{Ll}\p{Lm}\p{Lo}\p{M}]              (o200k "lower" class)
//
// The classes are taken from Go's unicode package, which is the very table
// regexp2 consults, so both sides agree on every Unicode version change.
const (
	clL  uint8 = 1 << iota
	clN        //
	clS        //
	clU        //
	clLc       //
)

// bmpClass caches the class of every BMP rune: one byte load instead of
// several binary searches in unicode range tables on the hot path.
var (
	bmpClass     [1 << 16]uint8
	bmpClassOnce sync.Once
)

func initClasses() {
	bmpClassOnce.Do(func() {
		mark := func(t *unicode.RangeTable, bit uint8) {
			for _, r := range t.R16 {
				for c := int(r.Lo); c <= int(r.Hi); c += int(r.Stride) {
					bmpClass[c] |= bit
				}
			}
			for _, r := range t.R32 {
				for c := int(r.Lo); c <= int(r.Hi) && c < len(bmpClass); c += int(r.Stride) {
					bmpClass[c] |= bit
				}
			}
		}
		mark(unicode.L, clL)
		mark(unicode.N, clN)
		for _, t := range []*unicode.RangeTable{unicode.Lu, unicode.Lt, unicode.Lm, unicode.Lo, unicode.M} {
			mark(t, clU)
		}
		for _, t := range []*unicode.RangeTable{unicode.Ll, unicode.Lm, unicode.Lo, unicode.M} {
			mark(t, clLc)
		}
		for c := rune(0); c < 1<<16; c++ {
			if unicode.IsSpace(c) {
				bmpClass[c] |= clS
			}
		}
	})
}

// slowClass classifies a rune straight from the unicode tables. It is the
// definition the cached table must agree with, and the path for runes
// outside the BMP (emoji, historic scripts), which are too rare to cache.
func slowClass(r rune) uint8 {
	var c uint8
	if unicode.Is(unicode.L, r) {
		c |= clL
	}
	if unicode.Is(unicode.N, r) {
		c |= clN
	}
	if unicode.IsSpace(r) {
		c |= clS
	}
	if unicode.In(r, unicode.Lu, unicode.Lt, unicode.Lm, unicode.Lo, unicode.M) {
		c |= clU
	}
	if unicode.In(r, unicode.Ll, unicode.Lm, unicode.Lo, unicode.M) {
		c |= clLc
	}
	return c
}

func class(r rune) uint8 {
	if r < 1<<16 {
		return bmpClass[r]
	}
	return slowClass(r)
}

// decode returns the rune at s[i] with its class and byte width. The input
// has been sanitised to valid UTF-8 by Count, so there is no error case.
func decode(s string, i int) (r rune, c uint8, n int) {
	if b := s[i]; b < utf8.RuneSelf {
		return rune(b), bmpClass[b], 1
	}
	r, n = utf8.DecodeRuneInString(s[i:])
	return r, class(r), n
}

// isOther reports the class [^\s\p{L}\p{N}].
func isOther(c uint8) bool { return c&(clL|clN|clS) == 0 }

// isPrefix reports the optional leading class [^\r\n\p{L}\p{N}].
func isPrefix(r rune, c uint8) bool { return c&(clL|clN) == 0 && r != '\r' && r != '\n' }

// contraction matches (?i:'s|'t|'re|'ve|'m|'ll|'d) at s[i] and returns the
// byte length matched, or 0. regexp2 implements (?i) by comparing
// unicode.ToLower of the input rune, and the only non-ASCII runes that lower
// to ASCII are U+0130 (→ 'i') and U+212A (→ 'k'), neither of which appears
// here, so an ASCII case fold is exact.
func contraction(s string, i int) int {
	if i+1 >= len(s) || s[i] != '\'' {
		return 0
	}
	switch s[i+1] | 0x20 {
	case 's', 't', 'm', 'd':
		return 2
	case 'r', 'v':
		if i+2 < len(s) && s[i+2]|0x20 == 'e' {
			return 3
		}
	case 'l':
		if i+2 < len(s) && s[i+2]|0x20 == 'l' {
			return 3
		}
	}
	return 0
}

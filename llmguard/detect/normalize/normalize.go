// Package normalize folds text into the canonical form the injection detector matches on:
// compatibility-decomposed (NFKD, which subsumes NFKC's compatibility mappings) with
// combining marks dropped, lower case, Cyrillic/Greek look-alikes mapped to Latin,
// leetspeak digits mapped to letters inside words, invisible and bidi control characters
// removed (and reported), Unicode tag characters ("ASCII smuggling") decoded, and
// whitespace collapsed. It also extracts base64 and hex payloads embedded in the text.
//
// Every step is a single left-to-right pass, so folding is linear in the input. The
// folded text keeps a byte map back to the original so findings can point at the
// original text. The package must never log or store the texts it folds.
package normalize

import (
	"unicode"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/text/unicode/norm"
)

// Folded is the result of Fold.
type Folded struct {
	// Text is the folded text.
	Text string
	// Map gives, for each byte of Text, the offset in the original of the rune it came
	// from; Map[len(Text)] == len(original).
	Map []int32
	// Invisible lists spans of the original made of invisible, zero-width, bidi-control
	// or tag characters, merged when adjacent.
	Invisible [][2]int

	buf []byte // backs Text; reused by FoldInto
}

// Orig maps a byte offset in Text back to the original text.
func (f *Folded) Orig(i int) int {
	if i < 0 {
		return 0
	}
	if i >= len(f.Map) {
		return int(f.Map[len(f.Map)-1])
	}
	return int(f.Map[i])
}

// IsInvisible reports characters that render as nothing (or reorder text) and so can hide
// instructions from a human reviewer while the model still reads them.
func IsInvisible(r rune) bool {
	switch {
	case r == 0x00AD, r == 0x034F, r == 0x061C, r == 0x115F, r == 0x1160, r == 0x17B4, r == 0x17B5,
		r == 0x180E, r == 0x3164, r == 0xFEFF, r == 0xFFA0:
		return true
	case r >= 0x200B && r <= 0x200F, r >= 0x202A && r <= 0x202E, r >= 0x2060 && r <= 0x206F:
		return true
	case r >= 0xFE00 && r <= 0xFE0F, r >= 0xE0000 && r <= 0xE007F, r >= 0xE0100 && r <= 0xE01EF:
		return true
	}
	return false
}

// Fold folds text. It is safe for any input, including invalid UTF-8 (invalid bytes are
// dropped from the folded text).
func Fold(text string) *Folded {
	f := &Folded{}
	FoldInto(f, text)
	return f
}

// FoldInto folds text into f, reusing f's buffers, so that a caller that folds many texts
// (a detector, through a sync.Pool) does not allocate five bytes per input byte each time.
// f.Text aliases those buffers: it and f.Map are valid only until the next FoldInto on f.
func FoldInto(f *Folded, text string) {
	b := f.buf[:0]
	if cap(b) < len(text) {
		b = make([]byte, 0, len(text))
	}
	m := f.Map[:0]
	if cap(m) < len(text)+1 {
		m = make([]int32, 0, len(text)+1)
	}
	f.Invisible = f.Invisible[:0]
	lastSpace := true
	emit := func(c byte, at int) {
		b = append(b, c)
		m = append(m, int32(at))
	}
	emitRune := func(r rune, at int) {
		if r < utf8.RuneSelf {
			c := byte(r)
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			if isSpaceByte(c) {
				if lastSpace {
					return
				}
				c = ' '
				lastSpace = true
			} else {
				lastSpace = false
			}
			emit(c, at)
			return
		}
		if unicode.IsSpace(r) {
			if !lastSpace {
				emit(' ', at)
				lastSpace = true
			}
			return
		}
		if unicode.Is(unicode.Mn, r) {
			return
		}
		r = unicode.ToLower(r)
		if h, ok := homoglyphs[r]; ok {
			emit(h, at)
			lastSpace = false
			return
		}
		var buf [utf8.UTFMax]byte
		n := utf8.EncodeRune(buf[:], r)
		for k := 0; k < n; k++ {
			emit(buf[k], at)
		}
		lastSpace = false
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			// ASCII fast path, the common case: one table lookup (lower case, every space
			// byte as ' ') instead of the rune path's classification.
			o := asciiFold[c]
			if o == ' ' {
				if lastSpace {
					i++
					continue
				}
				lastSpace = true
			} else {
				lastSpace = false
			}
			b = append(b, o)
			m = append(m, int32(i))
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if r == utf8.RuneError && size <= 1 {
			i++
			continue
		}
		if IsInvisible(r) {
			f.addInvisible(i, i+size)
			if r >= 0xE0020 && r <= 0xE007E { // tag characters spell hidden ASCII
				emitRune(r-0xE0000, i)
			}
			i += size
			continue
		}
		if d := norm.NFKD.PropertiesString(text[i:]).Decomposition(); len(d) > 0 {
			for k := 0; k < len(d); {
				dr, ds := utf8.DecodeRune(d[k:])
				emitRune(dr, i)
				k += ds
			}
		} else {
			emitRune(r, i)
		}
		i += size
	}
	m = append(m, int32(len(text)))
	deLeet(b)
	f.buf = b
	f.Text = unsafe.String(unsafe.SliceData(b), len(b))
	f.Map = m
}

func (f *Folded) addInvisible(s, e int) {
	if n := len(f.Invisible); n > 0 && f.Invisible[n-1][1] == s {
		f.Invisible[n-1][1] = e
		return
	}
	f.Invisible = append(f.Invisible, [2]int{s, e})
}

// asciiFold is what FoldInto emits for an ASCII byte: letters in lower case, the space
// bytes (isSpaceByte) as ' ', every other byte, control characters included, as is.
var asciiFold = func() (t [utf8.RuneSelf]byte) {
	for c := range t {
		b := byte(c)
		switch {
		case b >= 'A' && b <= 'Z':
			b += 'a' - 'A'
		case isSpaceByte(b):
			b = ' '
		}
		t[c] = b
	}
	return t
}()

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// homoglyphs maps lower-case Cyrillic and Greek letters that look like Latin ones.
var homoglyphs = map[rune]byte{
	'а': 'a', 'в': 'b', 'е': 'e', 'ё': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p',
	'с': 'c', 'т': 't', 'у': 'y', 'х': 'x', 'ѕ': 's', 'і': 'i', 'ї': 'i', 'ј': 'j', 'ԁ': 'd',
	'ԛ': 'q', 'ԝ': 'w', 'һ': 'h', 'ɡ': 'g', 'ɑ': 'a', 'ı': 'i', 'ȷ': 'j',
	'α': 'a', 'β': 'b', 'ε': 'e', 'η': 'n', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p',
	'τ': 't', 'υ': 'u', 'χ': 'x', 'γ': 'y', 'ω': 'w', 'ѡ': 'w', 'ß': 's',
}

// leet maps digits and symbols used as letters.
var leet = [256]byte{'0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', '$': 's', '!': 'i'}

// deLeet rewrites, in place, words that mix letters with leet symbols ("1gn0re" →
// "ignore"); words without letters ("2024", "1.5") are left alone. Byte-for-byte, so the
// offset map is unchanged.
func deLeet(b []byte) {
	// Only a word with a leet symbol can change: jump from one such symbol to the next
	// and judge the word around it, instead of counting the letters of every word.
	for i := 0; i < len(b); i++ {
		if leet[b[i]] == 0 {
			continue
		}
		s := i
		for s > 0 && isWordish(b[s-1]) {
			s--
		}
		j := i
		letters, subs := 0, 0
		for k := s; k < j; k++ {
			if b[k] >= 'a' && b[k] <= 'z' {
				letters++
			}
		}
		for j < len(b) && isWordish(b[j]) {
			if b[j] >= 'a' && b[j] <= 'z' {
				letters++
			} else if leet[b[j]] != 0 {
				subs++
			}
			j++
		}
		// A trailing '!' or '$' is punctuation, not a letter.
		e := j
		for e > s && (b[e-1] == '!' || b[e-1] == '$') {
			e--
			subs--
		}
		if letters >= 2 && subs > 0 && subs < letters*2 {
			for k := s; k < e; k++ {
				if l := leet[b[k]]; l != 0 {
					b[k] = l
				}
			}
		}
		i = j
	}
}

func isWordish(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || leet[c] != 0 || c >= 0x80
}

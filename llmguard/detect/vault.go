package detect

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Vault is the per-request pseudonymisation table: it hands out typed placeholders such as
// [EMAIL_ADDRESS_1] (the same value always gets the same placeholder within one Vault) and
// maps them back to the originals. It lives in memory for one request only and must never
// be logged, serialised or shared between requests. A Vault is not safe for concurrent use;
// one request is handled by one goroutine at a time.
type Vault struct {
	byValue  map[string]string // type + "\x00" + value → placeholder
	byHolder map[string]string // placeholder → value
	counts   map[string]int    // type → last number handed out
	maxLen   int               // longest placeholder handed out, in bytes
	taken    map[string]bool   // placeholder-shaped text the client wrote itself
}

// NewVault returns an empty vault.
func NewVault() *Vault {
	return &Vault{byValue: map[string]string{}, byHolder: map[string]string{}, counts: map[string]int{}}
}

// Sibling returns a vault with its own values that numbers placeholders together with v
// (and avoids what v reserved), so that the two never hand out the same placeholder: a
// request's redactions and its reversible pseudonyms live in two such vaults, and only
// the second is ever restored.
func (v *Vault) Sibling() *Vault {
	if v.taken == nil {
		v.taken = map[string]bool{}
	}
	return &Vault{byValue: map[string]string{}, byHolder: map[string]string{}, counts: v.counts, taken: v.taken}
}

// Placeholder returns the placeholder for value of the given type, creating it on first
// use. Types are expected to be upper snake case; other bytes are replaced by '_' so a
// placeholder always matches [A-Z0-9_]+ between the brackets.
func (v *Vault) Placeholder(typ, value string) string {
	key := typ + "\x00" + value
	if p, ok := v.byValue[key]; ok {
		return p
	}
	t := sanitizeType(typ)
	var p string
	for {
		v.counts[t]++
		p = "[" + t + "_" + strconv.Itoa(v.counts[t]) + "]"
		if !v.taken[p] {
			break
		}
	}
	v.byValue[key] = p
	v.byHolder[p] = value
	if len(p) > v.maxLen {
		v.maxLen = len(p)
	}
	return p
}

// SafeType returns typ as it appears in placeholders and redaction markers: upper snake
// case, every other byte replaced by '_', so an operator's type name can never break the
// JSON or the text it is written into.
func SafeType(typ string) string { return sanitizeType(typ) }

func sanitizeType(typ string) string {
	if typ == "" {
		return "REDACTED"
	}
	b := []byte(typ)
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		default:
			b[i] = '_'
		}
	}
	return string(b)
}

// Reserve marks every placeholder-shaped token in text ("[" + [A-Z0-9_]+ + "]") as
// taken, so the vault never hands it out. Call it with the client's own text before
// redacting: a prompt that already contains "[EMAIL_ADDRESS_1]" must not have that
// literal text turned into somebody's address when the reply is restored.
func (v *Vault) Reserve(text string) {
	for i := 0; i < len(text); {
		j := strings.IndexByte(text[i:], '[')
		if j < 0 {
			return
		}
		i += j
		k := i + 1
		for k < len(text) && isHolderByte(text[k]) {
			k++
		}
		if k < len(text) && text[k] == ']' && k > i+1 {
			if v.taken == nil {
				v.taken = map[string]bool{}
			}
			v.taken[text[i:k+1]] = true
		}
		i = k
	}
}

// Lookup returns the original value behind a placeholder.
func (v *Vault) Lookup(placeholder string) (string, bool) {
	s, ok := v.byHolder[placeholder]
	return s, ok
}

// Len is the number of distinct values in the vault.
func (v *Vault) Len() int { return len(v.byHolder) }

// MaxPlaceholderLen is the length in bytes of the longest placeholder handed out; a
// streaming Restorer holds back at most this many bytes minus one.
func (v *Vault) MaxPlaceholderLen() int { return v.maxLen }

// Restore replaces every known placeholder in text by its original value. Unknown
// bracketed text is left alone. It is linear: each '[' looks ahead at most
// MaxPlaceholderLen bytes.
func (v *Vault) Restore(text string) string { return v.restore(text, false) }

// RestoreJSON is Restore for JSON text, such as a tool call's arguments, where a
// placeholder stands inside a string literal: the original is inserted JSON-escaped, so a
// value with a quote or a backslash keeps the arguments valid JSON.
func (v *Vault) RestoreJSON(text string) string { return v.restore(text, true) }

func (v *Vault) restore(text string, inJSON bool) string {
	if v.maxLen == 0 || strings.IndexByte(text, '[') < 0 {
		return text
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(text); {
		j := strings.IndexByte(text[i:], '[')
		if j < 0 {
			break
		}
		i += j
		if p, ok := v.placeholderAt(text, i); ok {
			b.WriteString(text[last:i])
			if inJSON {
				writeJSONEscaped(&b, v.byHolder[p])
			} else {
				b.WriteString(v.byHolder[p])
			}
			i += len(p)
			last = i
			continue
		}
		i++
	}
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}

// writeJSONEscaped writes s as the inside of a JSON string literal.
func writeJSONEscaped(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		default:
			b.WriteByte(c)
		}
	}
}

// placeholderAt reports the known placeholder starting at text[i] == '[', if any.
func (v *Vault) placeholderAt(text string, i int) (string, bool) {
	end := i + v.maxLen
	if end > len(text) {
		end = len(text)
	}
	for k := i + 1; k < end; k++ {
		c := text[k]
		if c == ']' {
			p := text[i : k+1]
			_, ok := v.byHolder[p]
			return p, ok
		}
		if !isHolderByte(c) {
			return "", false
		}
	}
	return "", false
}

func isHolderByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// Redact returns text with every finding replaced by its vault placeholder, and the number
// of findings replaced. Overlapping findings are merged into the earliest (and, on ties,
// longest) one so no original byte leaks between two placeholders (see Spans). With a nil
// vault, placeholders are still typed and numbered per call but cannot be restored.
func Redact(text string, findings []Finding, v *Vault) (string, int) {
	if len(findings) == 0 {
		return text, 0
	}
	if v == nil {
		v = NewVault()
	}
	return ReplaceSpans(text, Spans(text, findings), func(s Span) string {
		return v.Placeholder(s.Finding.Type, text[s.Start:s.End])
	})
}

// Span is a stretch of text to replace: overlapping findings merged, named after the
// first of them.
type Span struct {
	Start, End int
	Finding    Finding // the earliest (on ties, the longest) finding of the span
}

// Spans merges findings into the disjoint spans a redaction replaces, in order: findings
// that start inside a span join it, extending it if they run longer. A finding that is not
// valid for text (a faulty detector module's: out of range, or cutting a UTF-8 sequence)
// is first widened to the characters it touches and clipped to the text, so that it
// neither hides a valid finding it overlaps nor leaves a byte it covered in clear; one
// with nothing of the text left is dropped. findings is not changed.
func Spans(text string, findings []Finding) []Span {
	fs := make([]Finding, 0, len(findings))
	for _, f := range findings {
		if !f.Valid(text) {
			f.Start, f.End = min(max(f.Start, 0), len(text)), max(min(f.End, len(text)), 0)
			if f.Start >= f.End {
				continue
			}
			for f.Start > 0 && !utf8.RuneStart(text[f.Start]) {
				f.Start--
			}
			for f.End < len(text) && !utf8.RuneStart(text[f.End]) {
				f.End++
			}
		}
		fs = append(fs, f)
	}
	SortFindings(fs)
	var out []Span
	for _, f := range fs {
		if n := len(out); n > 0 && f.Start < out[n-1].End {
			out[n-1].End = max(out[n-1].End, f.End)
			continue
		}
		out = append(out, Span{Start: f.Start, End: f.End, Finding: f})
	}
	return out
}

// ReplaceSpans returns text with each span replaced by what with returns for it, and the
// number of spans replaced.
func ReplaceSpans(text string, spans []Span, with func(Span) string) (string, int) {
	if len(spans) == 0 {
		return text, 0
	}
	var b strings.Builder
	b.Grow(len(text))
	pos := 0
	for _, s := range spans {
		b.WriteString(text[pos:s.Start])
		b.WriteString(with(s))
		pos = s.End
	}
	b.WriteString(text[pos:])
	return b.String(), len(spans)
}

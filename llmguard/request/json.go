package request

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/llmguard/caddy-llmguard/llmguard/jsonspan"
)

// This file is a small JSON parser that keeps the byte span of every value. The standard
// library decodes values but forgets where they were, and the request model needs the
// exact location of each text string so that a redaction can replace that string and leave
// every other byte of the client's body as it was (unknown fields, key order, number
// formatting, whitespace). It is also stricter than encoding/json where strictness is a
// security property: duplicate object keys are refused, because the guard and the upstream
// could otherwise read different values for the same field (e.g. two "model" keys).

// maxDepth bounds nesting so that a hostile body cannot exhaust the stack.
const maxDepth = 128

type valueKind uint8

const (
	jsonNull valueKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

var kindWords = [...]string{"null", "boolean", "number", "string", "array", "object"}

func (k valueKind) String() string { return kindWords[k] }

// value is one parsed JSON value. start and end delimit its raw bytes in the body.
type value struct {
	kind       valueKind
	start, end int
	str        string   // decoded string (jsonString)
	b          bool     // jsonBool
	keys       []string // jsonObject, in order
	vals       []*value // jsonObject values (parallel to keys) or jsonArray elements
}

// get returns the member named key of an object, or nil.
func (v *value) get(key string) *value {
	if v == nil || v.kind != jsonObject {
		return nil
	}
	for i, k := range v.keys {
		if k == key {
			return v.vals[i]
		}
	}
	return nil
}

// raw returns the value's bytes in body.
func (v *value) raw(body []byte) []byte { return body[v.start:v.end] }

// syntaxError reports where a body stopped being JSON.
type syntaxError struct {
	msg string
	off int
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%s at byte offset %d", e.msg, e.off) }

type parser struct {
	data  []byte
	pos   int
	depth int
}

// parseJSON parses exactly one JSON value surrounded by optional whitespace.
func parseJSON(data []byte) (*value, error) {
	p := &parser{data: data}
	p.skipSpace()
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return nil, p.errf("unexpected data after the top-level value")
	}
	return v, nil
}

func (p *parser) errf(format string, args ...any) error {
	return &syntaxError{msg: fmt.Sprintf(format, args...), off: p.pos}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value() (*value, error) {
	if p.pos >= len(p.data) {
		return nil, p.errf("unexpected end of JSON input")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		start := p.pos
		s, err := p.string()
		if err != nil {
			return nil, err
		}
		return &value{kind: jsonString, start: start, end: p.pos, str: s}, nil
	case c == 't':
		return p.literal("true", jsonBool, true)
	case c == 'f':
		return p.literal("false", jsonBool, false)
	case c == 'n':
		return p.literal("null", jsonNull, false)
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		return nil, p.errf("invalid character %q looking for beginning of value", c)
	}
}

func (p *parser) literal(word string, kind valueKind, b bool) (*value, error) {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return nil, p.errf("invalid literal")
	}
	v := &value{kind: kind, start: p.pos, end: p.pos + len(word), b: b}
	p.pos += len(word)
	return v, nil
}

func (p *parser) number() (*value, error) {
	start := p.pos
	d := p.data
	if p.pos < len(d) && d[p.pos] == '-' {
		p.pos++
	}
	switch {
	case p.pos < len(d) && d[p.pos] == '0':
		p.pos++
	case p.pos < len(d) && d[p.pos] >= '1' && d[p.pos] <= '9':
		for p.pos < len(d) && d[p.pos] >= '0' && d[p.pos] <= '9' {
			p.pos++
		}
	default:
		return nil, p.errf("invalid number")
	}
	if p.pos < len(d) && d[p.pos] == '.' {
		p.pos++
		if p.pos >= len(d) || d[p.pos] < '0' || d[p.pos] > '9' {
			return nil, p.errf("invalid number")
		}
		for p.pos < len(d) && d[p.pos] >= '0' && d[p.pos] <= '9' {
			p.pos++
		}
	}
	if p.pos < len(d) && (d[p.pos] == 'e' || d[p.pos] == 'E') {
		p.pos++
		if p.pos < len(d) && (d[p.pos] == '+' || d[p.pos] == '-') {
			p.pos++
		}
		if p.pos >= len(d) || d[p.pos] < '0' || d[p.pos] > '9' {
			return nil, p.errf("invalid number")
		}
		for p.pos < len(d) && d[p.pos] >= '0' && d[p.pos] <= '9' {
			p.pos++
		}
	}
	return &value{kind: jsonNumber, start: start, end: p.pos}, nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.errf("nesting deeper than %d levels", maxDepth)
	}
	return nil
}

func (p *parser) object() (*value, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	v := &value{kind: jsonObject, start: p.pos}
	p.pos++ // '{'
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		v.end = p.pos
		p.depth--
		return v, nil
	}
	var keys jsonspan.KeySet // the project's one duplicate-key check
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.errf("expected a string object key")
		}
		key, err := p.string()
		if err != nil {
			return nil, err
		}
		if !keys.Add(key) {
			return nil, p.errf("duplicate object key %q", truncate(key, 64))
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.errf("expected ':' after object key")
		}
		p.pos++
		p.skipSpace()
		val, err := p.value()
		if err != nil {
			return nil, err
		}
		v.vals = append(v.vals, val)
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.errf("unexpected end of JSON input")
		}
		if p.data[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.data[p.pos] == '}' {
			p.pos++
			v.end = p.pos
			v.keys = keys.Keys()
			p.depth--
			return v, nil
		}
		return nil, p.errf("expected ',' or '}' after object value")
	}
}

func (p *parser) array() (*value, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	v := &value{kind: jsonArray, start: p.pos}
	p.pos++ // '['
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		v.end = p.pos
		p.depth--
		return v, nil
	}
	for {
		p.skipSpace()
		el, err := p.value()
		if err != nil {
			return nil, err
		}
		v.vals = append(v.vals, el)
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.errf("unexpected end of JSON input")
		}
		if p.data[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.data[p.pos] == ']' {
			p.pos++
			v.end = p.pos
			p.depth--
			return v, nil
		}
		return nil, p.errf("expected ',' or ']' after array element")
	}
}

// string decodes the string literal at p.pos. The fast path returns a sub-slice copy when
// the literal has no escapes, which is the common case for prompt text.
func (p *parser) string() (string, error) {
	d := p.data
	p.pos++ // opening quote
	start := p.pos
	for p.pos < len(d) {
		// Eight plain ASCII bytes at a time: prompt text is almost all of them.
		for p.pos+8 <= len(d) && plainASCII8(binary.LittleEndian.Uint64(d[p.pos:])) {
			p.pos += 8
		}
		if p.pos >= len(d) {
			break
		}
		c := d[p.pos]
		if c == '"' {
			s := jsonspan.Intern(d[start:p.pos])
			p.pos++
			return s, nil
		}
		if c == '\\' {
			return p.slowString(start)
		}
		if c < 0x20 {
			return "", p.errf("invalid control character in string")
		}
		if c < utf8.RuneSelf {
			p.pos++
			continue
		}
		r, size := utf8.DecodeRune(d[p.pos:])
		if r == utf8.RuneError && size == 1 {
			return "", p.errf("invalid UTF-8 in string")
		}
		p.pos += size
	}
	return "", p.errf("unterminated string")
}

func (p *parser) slowString(start int) (string, error) {
	d := p.data
	buf := make([]byte, 0, p.pos-start+16)
	buf = append(buf, d[start:p.pos]...)
	for p.pos < len(d) {
		c := d[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(buf), nil
		case c == '\\':
			if p.pos+1 >= len(d) {
				return "", p.errf("unterminated string")
			}
			esc := d[p.pos+1]
			p.pos += 2
			switch esc {
			case '"', '\\', '/':
				buf = append(buf, esc)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, err := p.hex4()
				if err != nil {
					return "", err
				}
				if utf16.IsSurrogate(r) {
					// A valid pair decodes to one rune; a lone surrogate becomes U+FFFD,
					// as encoding/json does.
					r2 := rune(-1)
					if p.pos+1 < len(d) && d[p.pos] == '\\' && d[p.pos+1] == 'u' {
						save := p.pos
						p.pos += 2
						if r2, err = p.hex4(); err != nil {
							return "", err
						}
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							buf = utf8.AppendRune(buf, dec)
							continue
						}
						p.pos = save
					}
					r = utf8.RuneError
				}
				buf = utf8.AppendRune(buf, r)
			default:
				p.pos -= 2
				return "", p.errf("invalid escape sequence")
			}
		case c < 0x20:
			return "", p.errf("invalid control character in string")
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			p.pos++
		default:
			r, size := utf8.DecodeRune(d[p.pos:])
			if r == utf8.RuneError && size == 1 {
				return "", p.errf("invalid UTF-8 in string")
			}
			buf = append(buf, d[p.pos:p.pos+size]...)
			p.pos += size
		}
	}
	return "", p.errf("unterminated string")
}

func (p *parser) hex4() (rune, error) {
	if len(p.data)-p.pos < 4 {
		return 0, p.errf("invalid \\u escape")
	}
	n, err := strconv.ParseUint(string(p.data[p.pos:p.pos+4]), 16, 16)
	if err != nil {
		return 0, p.errf("invalid \\u escape")
	}
	p.pos += 4
	return rune(n), nil
}

// int64Value returns the value of an integral JSON number. Values such as 1e3 or 100.0
// are accepted when they are whole, since some clients serialise integers as floats.
func (v *value) int64Value(body []byte) (int64, error) {
	if v.kind != jsonNumber {
		return 0, errors.New("not a number")
	}
	s := string(v.raw(body))
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != float64(int64(f)) || f > 1<<53 || f < -(1<<53) {
		return 0, errors.New("not an integer")
	}
	return int64(f), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// plainASCII8 reports whether none of the eight bytes of x (read little-endian) ends or
// escapes a JSON string or needs checking: no '"', no '\\', no control character and no
// byte of a multi-byte UTF-8 sequence. The classic SWAR tests ("has a zero byte", "has a
// byte less than n"), which are exact about whether any such byte is present.
func plainASCII8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	hasZero := func(v uint64) uint64 { return (v - ones) & ^v & highs }
	bad := x & highs                    // non-ASCII
	bad |= (x - 0x20*ones) & ^x & highs // a byte < 0x20
	bad |= hasZero(x ^ ('"' * ones))
	bad |= hasZero(x ^ ('\\' * ones))
	return bad == 0
}

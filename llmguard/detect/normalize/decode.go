package normalize

import (
	"encoding/base64"
	"encoding/hex"
	"unicode/utf8"
)

// Payload is a decoded embedded payload.
type Payload struct {
	Start, End int    // span of the encoded run in the original text
	Encoding   string // "base64" or "hex"
	Text       string // decoded bytes (valid, mostly printable UTF-8)
}

const (
	minB64Run = 16
	minHexRun = 16
)

// Payloads finds base64 and hex runs in text that decode to readable text. Runs do not
// overlap and each is decoded once, and the total decoded size is bounded by len(text),
// so the cost is linear.
func Payloads(text string) []Payload {
	var out []Payload
	for i := 0; i < len(text); {
		if b64Class[text[i]] == 0 {
			i++
			continue
		}
		j := i
		all := uint8(classB64 | classHex) // the classes every byte of the run has
		for j < len(text) {
			k := b64Class[text[j]]
			if k == 0 {
				break
			}
			all &= k
			j++
		}
		run := text[i:j]
		if all&classHex != 0 && len(run) >= minHexRun && len(run)%2 == 0 {
			if b, err := hex.DecodeString(run); err == nil && readable(b) {
				out = append(out, Payload{i, j, "hex", string(b)})
			}
		} else if len(run) >= minB64Run {
			if b, ok := decodeB64(run); ok && readable(b) {
				out = append(out, Payload{i, j, "base64", string(b)})
			}
		}
		i = j
	}
	return out
}

func decodeB64(s string) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}

// readable wants valid UTF-8 with at least 85% printable characters and some letters,
// which random binary (hashes, keys, images) almost never is.
func readable(b []byte) bool {
	if len(b) < 8 || !utf8.Valid(b) {
		return false
	}
	printable, letters, total := 0, 0, 0
	for _, r := range string(b) {
		total++
		switch {
		case r == '\n' || r == '\t' || r == '\r' || r >= 0x20 && r != 0x7f:
			printable++
		}
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			letters++
		}
	}
	return printable*100 >= total*85 && letters*2 >= total
}

// b64Class classifies bytes for Payloads' run scan in one lookup: classB64 for the
// base64 alphabets (standard and URL-safe, with padding), classHex also for hex digits.
const (
	classB64 = 1 << iota
	classHex
)

var b64Class = func() (t [256]uint8) {
	for c := range t {
		if isB64(byte(c)) {
			t[c] = classB64
			if isHexByte(byte(c)) {
				t[c] |= classHex
			}
		}
	}
	return t
}()

func isB64(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' || c == '-' || c == '_'
}

func isHexByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

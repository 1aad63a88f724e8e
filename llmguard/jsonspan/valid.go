package jsonspan

// valid reports whether b is one JSON value, exactly as encoding/json's Valid does
// (FuzzValid holds the two together), in one direct pass: Unique runs on every reply the
// gateway reads, and encoding/json's scanner, a state machine called once per byte, was
// the larger half of its cost.
func valid(b []byte) bool {
	i, ok := validValue(b, SkipWS(b, 0), 0)
	return ok && SkipWS(b, i) == len(b)
}

// maxValidDepth is encoding/json's nesting limit: deeper documents are not valid to it.
const maxValidDepth = 10000

// validValue checks the value at b[i] and returns its end.
func validValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch c := b[i]; {
	case c == '"':
		return validString(b, i)
	case c == '{' || c == '[':
		if depth >= maxValidDepth {
			return 0, false
		}
		obj, closer := c == '{', byte(']')
		if obj {
			closer = '}'
		}
		i = SkipWS(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1, true
		}
		for {
			if obj {
				if i >= len(b) || b[i] != '"' {
					return 0, false
				}
				var ok bool
				if i, ok = validString(b, i); !ok {
					return 0, false
				}
				if i = SkipWS(b, i); i >= len(b) || b[i] != ':' {
					return 0, false
				}
				i = SkipWS(b, i+1)
			}
			var ok bool
			if i, ok = validValue(b, i, depth+1); !ok {
				return 0, false
			}
			if i = SkipWS(b, i); i >= len(b) {
				return 0, false
			}
			switch b[i] {
			case closer:
				return i + 1, true
			case ',':
				i = SkipWS(b, i+1)
			default:
				return 0, false
			}
		}
	case c == '-' || ('0' <= c && c <= '9'):
		return validNumber(b, i)
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	}
	return 0, false
}

func literal(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, false
	}
	return i + len(lit), true
}

// validString checks the string whose opening quote is b[i]: no control characters, only
// JSON's escapes (bytes above 0x7f are not checked, as encoding/json does not).
func validString(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, true
		case c < 0x20:
			return 0, false
		case c == '\\':
			j++
			if j >= len(b) {
				return 0, false
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(b)-j < 5 {
					return 0, false
				}
				for _, h := range b[j+1 : j+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return 0, false
					}
				}
				j += 4
			default:
				return 0, false
			}
		}
	}
	return 0, false
}

// validNumber checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at b[i].
func validNumber(b []byte, i int) (int, bool) {
	digits := func(i int) int { // end of the run of digits at i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i
	}
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(i + 1)
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		e := digits(i + 1)
		if e == i+1 {
			return 0, false
		}
		i = e
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		e := digits(i)
		if e == i {
			return 0, false
		}
		i = e
	}
	return i, true
}

// AppendCompact appends src to dst with the insignificant whitespace elided and reports
// whether src was one valid JSON value: what encoding/json.Compact writes (it only drops
// whitespace outside strings, and changes nothing else), checked by this package's
// validator and copied in one pass instead of through encoding/json's byte-at-a-time
// scanner. On false dst is returned unchanged.
func AppendCompact(dst, src []byte) ([]byte, bool) {
	if !valid(src) {
		return dst, false
	}
	start, inStr := 0, false
	for i := 0; i < len(src); i++ {
		switch c := src[i]; {
		case inStr:
			switch c {
			case '\\':
				i++ // valid: an escape is never the last byte
			case '"':
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			dst = append(dst, src[start:i]...)
			start = i + 1
		}
	}
	return append(dst, src[start:]...), true
}

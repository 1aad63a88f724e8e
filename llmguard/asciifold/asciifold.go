// Package asciifold compares text with lower-case ASCII words ignoring the case of A–Z
// only: the scanners that look for fixed English phrases (framing lines, indirect-injection
// cues) need no Unicode folding for that and cannot afford lowering a copy of the text.
package asciifold

// HasPrefix reports whether s starts with lower, s's A–Z compared as a–z. lower must be
// lower-case.
func HasPrefix(s, lower string) bool {
	if len(s) < len(lower) {
		return false
	}
	for i := 0; i < len(lower); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

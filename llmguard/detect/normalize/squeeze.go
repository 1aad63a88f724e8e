package normalize

// Squeeze keeps only ASCII letters and digits of a folded text, so that spacing and
// punctuation obfuscation ("i g n o r e", "ig-no-re", "i.g.n.o.r.e") collapses to the
// plain word. Keyword rules match on it.
func Squeeze(folded string) string {
	b := make([]byte, len(folded))
	n := 0
	for i := 0; i < len(folded); i++ {
		c := folded[i]
		b[n] = c
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			n++
		}
	}
	return string(b[:n])
}

// SqueezedOffsets maps squeezed offsets (ascending) back to folded offsets in one pass;
// it is only needed to point a finding at its evidence, so Squeeze does not pay for it.
func SqueezedOffsets(folded string, offs []int) []int {
	out := make([]int, len(offs))
	k, n := 0, 0
	for i := 0; i < len(folded) && k < len(offs); i++ {
		c := folded[i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			for k < len(offs) && offs[k] == n {
				out[k] = i
				k++
			}
			n++
		}
	}
	for ; k < len(offs); k++ {
		out[k] = len(folded)
	}
	return out
}

// Rot13 returns s with ASCII letters rotated by 13, so that rules can also match text
// that was hidden with ROT13.
func Rot13(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = 'a' + (c-'a'+13)%26
		case c >= 'A' && c <= 'Z':
			b[i] = 'A' + (c-'A'+13)%26
		}
	}
	return string(b)
}

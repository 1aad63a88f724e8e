package sentinel

import (
	"math/bits"
	"net/netip"
	"unicode"
	"unicode/utf8"
)

// NetworkOf returns the /24 (IPv4) or /48 (IPv6) prefix of addr, the unit a key is
// "seen from": a laptop changing address within its provider's block is not a new
// network, a key used from another provider is. An unparsable address is returned as is.
func NetworkOf(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap()
	bitsN := 48
	if ip.Is4() {
		bitsN = 24
	}
	p, err := ip.Prefix(bitsN)
	if err != nil {
		return addr
	}
	return p.String()
}

// maxSketchBytes bounds the prompt text a sketch reads, so a huge prompt costs the same
// as a long one (the template of a templated prompt shows in its first kilobytes).
const maxSketchBytes = 2048

// Sketch returns a 64-bit SimHash of the normalised prompt (lower case, every run of
// digits one token, punctuation dropped) and an exact hash of the raw text. Prompts that
// share a template but differ in a slot have SimHashes a few bits apart; an identical
// prompt repeated (a developer re-running a test) has the same exact hash, which the
// templated signal ignores.
func Sketch(prompt string) (sim uint64, exact uint32) {
	if len(prompt) > maxSketchBytes {
		prompt = prompt[:maxSketchBytes]
	}
	exact = hash32(prompt)
	var votes counters
	var word uint64 = fnvOffset
	inWord := false
	flush := func() {
		if inWord {
			votes.add(mix(word))
		}
		word, inWord = fnvOffset, false
	}
	for i := 0; i < len(prompt); {
		r, size := rune(prompt[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(prompt[i:])
		}
		i += size
		switch {
		case '0' <= r && r <= '9' || r >= utf8.RuneSelf && unicode.IsDigit(r):
			// Every number is the same token: "item 17" and "item 4031" share a template.
			if !inWord || word != digitWord {
				flush()
				word, inWord = digitWord, true
			}
		case 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r >= utf8.RuneSelf && unicode.IsLetter(r):
			if inWord && word == digitWord {
				flush()
			}
			if r < utf8.RuneSelf {
				r |= 0x20 // ASCII lower case
			} else {
				r = unicode.ToLower(r)
			}
			word = (word ^ uint64(r)) * fnvPrime
			inWord = true
		default:
			flush()
		}
	}
	flush()
	return votes.majority(), exact
}

// counters are 64 vote counters kept as bit planes (plane k holds bit k of every
// counter), so that adding a word's 64 votes is a few word-wide operations instead of 64
// additions: the sketch's cost is then the text scan, not the vote.
type counters struct {
	planes [12]uint64 // 2¹² > the at most 1,024 words of maxSketchBytes
	n      int
}

// add counts a vote for each bit set in h.
func (c *counters) add(h uint64) {
	c.n++
	carry := h
	for k := 0; carry != 0 && k < len(c.planes); k++ {
		c.planes[k], carry = c.planes[k]^carry, c.planes[k]&carry
	}
}

// majority has bit b set when more than half of the words voted for bit b (SimHash's
// sign of votes for − votes against): counter ≥ n/2+1, compared on all 64 counters at once
// from the most significant plane down.
func (c *counters) majority() uint64 {
	t := uint64(c.n/2 + 1)
	gt, eq := uint64(0), ^uint64(0)
	for k := len(c.planes) - 1; k >= 0; k-- {
		if t>>k&1 == 0 {
			gt |= eq & c.planes[k]
			eq &^= c.planes[k]
		} else {
			eq &= c.planes[k]
		}
	}
	return gt | eq
}

const (
	fnvOffset uint64 = 14695981039346656037
	fnvPrime  uint64 = 1099511628211
	digitWord uint64 = 0x9e3779b97f4a7c15 // a word value no letter sequence is likely to hash to
)

// mix spreads a word hash over all 64 bits (splitmix64 finaliser), since FNV's high bits
// are weak for short words.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// nearDuplicate is the SimHash distance (in bits) under which two prompts share a template.
const nearDuplicate = 12

func hamming(a, b uint64) int { return bits.OnesCount64(a ^ b) }

// hash32 is 32-bit FNV-1a, written out so that hashing a string allocates nothing.
func hash32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// Fingerprint is a 32-bit hash of a credential that failed authentication, to tell one
// wrong key retried from many keys tried. It is kept in memory and in the store only as
// this hash, which is too short to confirm a guessed key offline.
func Fingerprint(credential string) uint32 { return hash32(credential) }

package sentinel

import (
	"hash/fnv"
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
	h := fnv.New32a()
	h.Write([]byte(prompt))
	exact = h.Sum32()
	var acc [64]int32
	var word uint64 = fnvOffset
	inWord, n := false, 0
	flush := func() {
		if inWord {
			addBits(&acc, mix(word))
			n++
		}
		word, inWord = fnvOffset, false
	}
	for i := 0; i < len(prompt); {
		r, size := utf8.DecodeRuneInString(prompt[i:])
		i += size
		switch {
		case unicode.IsDigit(r):
			// Every number is the same token: "item 17" and "item 4031" share a template.
			if !inWord || word != digitWord {
				flush()
				word, inWord = digitWord, true
			}
		case unicode.IsLetter(r):
			if inWord && word == digitWord {
				flush()
			}
			word = (word ^ uint64(unicode.ToLower(r))) * fnvPrime
			inWord = true
		default:
			flush()
		}
	}
	flush()
	if n == 0 {
		return 0, exact
	}
	for b := 0; b < 64; b++ {
		if acc[b] > 0 {
			sim |= 1 << b
		}
	}
	return sim, exact
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

func addBits(acc *[64]int32, h uint64) {
	for b := 0; b < 64; b++ {
		if h&(1<<b) != 0 {
			acc[b]++
		} else {
			acc[b]--
		}
	}
}

// nearDuplicate is the SimHash distance (in bits) under which two prompts share a template.
const nearDuplicate = 12

func hamming(a, b uint64) int { return bits.OnesCount64(a ^ b) }

func hash32(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// Fingerprint is a 32-bit hash of a credential that failed authentication, to tell one
// wrong key retried from many keys tried. It is kept in memory and in the store only as
// this hash, which is too short to confirm a guessed key offline.
func Fingerprint(credential string) uint32 { return hash32(credential) }

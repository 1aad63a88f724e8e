package request

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestPlainASCII8 holds the eight-byte test of the string scanner to the byte-wise rule,
// for every byte value in every position and for random words.
func TestPlainASCII8(t *testing.T) {
	plain := func(c byte) bool { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' }
	check := func(b [8]byte) {
		want := true
		for _, c := range b {
			want = want && plain(c)
		}
		if got := plainASCII8(binary.LittleEndian.Uint64(b[:])); got != want {
			t.Fatalf("plainASCII8(% x) = %v, want %v", b, got, want)
		}
	}
	for pos := range 8 {
		for c := range 256 {
			b := [8]byte{'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'}
			b[pos] = byte(c)
			check(b)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		var b [8]byte
		for i := range b {
			// Mostly printable ASCII, sometimes anything: both outcomes are common.
			if rng.IntN(16) == 0 {
				b[i] = byte(rng.IntN(256))
			} else {
				b[i] = byte(0x20 + rng.IntN(0x60))
			}
		}
		check(b)
	}
}

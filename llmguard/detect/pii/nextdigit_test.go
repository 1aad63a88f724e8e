package pii

import (
	"math/rand"
	"testing"
)

func TestNextDigit(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for n := 0; n < 200000; n++ {
		b := make([]byte, r.Intn(40))
		for i := range b {
			switch r.Intn(4) {
			case 0:
				b[i] = byte(r.Intn(256))
			case 1:
				b[i] = byte(0x2a + r.Intn(20)) // around the digits
			default:
				b[i] = byte(0x80 + r.Intn(128))
			}
		}
		s := string(b)
		from := 0
		if len(s) > 0 {
			from = r.Intn(len(s) + 1)
		}
		want := from
		for want < len(s) && !isDigit(s[want]) {
			want++
		}
		if got := nextDigit(s, from); got != want {
			t.Fatalf("nextDigit(%q, %d) = %d, want %d", s, from, got, want)
		}
	}
}

// TestNextDigitWord tries every byte value at every position of a word of fillers,
// including the values next to '0' and '9' and those with the high bit set.
func TestNextDigitWord(t *testing.T) {
	for _, fill := range []byte{0x00, '/', ':', 0x7f, 0x80, 0xaf, 0xb0, 0xb9, 0xba, 0xff, 'a'} {
		for p := 0; p < 8; p++ {
			for v := 0; v < 256; v++ {
				b := []byte{fill, fill, fill, fill, fill, fill, fill, fill, fill}
				b[p] = byte(v)
				want := len(b)
				if isDigit(byte(v)) {
					want = p
				}
				if got := nextDigit(string(b), 0); got != want {
					t.Fatalf("fill %#x, %#x at %d: got %d, want %d", fill, v, p, got, want)
				}
			}
		}
	}
}

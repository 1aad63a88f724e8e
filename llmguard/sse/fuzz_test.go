package sse

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParser checks, for arbitrary input cut at an arbitrary point, that the parser never
// panics, never buffers more than MaxEventSize, and gives the same result as feeding the
// input whole (events, error, and Raw bytes that add up to the input).
func FuzzParser(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.sse"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil && len(b) < 4096 {
			f.Add(b, uint16(len(b)/2), uint8(0))
		}
	}
	f.Add([]byte("data: a\r\n\r\ndata: b\r\r\n"), uint16(10), uint8(0))
	f.Add([]byte("\xEF\xBB\xBFid: 1\nretry: 5\nevent: x\ndata\n\n"), uint16(1), uint8(16))
	f.Add([]byte(": c\n\ndata: 0123456789abcdef\n\n"), uint16(7), uint8(8))
	f.Fuzz(func(t *testing.T, in []byte, cut uint16, max uint8) {
		c := int(cut) % (len(in) + 1)
		limit := 64 + int(max) // small limits exercise ErrEventTooLarge
		if max == 0 {
			limit = 0 // default
		}
		whole := Parser{MaxEventSize: limit}
		a := feedChunks(&whole, in)
		split := Parser{MaxEventSize: limit}
		b := feedChunks(&split, in[:c], in[c:])
		if (a.err == nil) != (b.err == nil) {
			t.Fatalf("whole err %v, split err %v", a.err, b.err)
		}
		if err := sameEvents(a.events, b.events); err != nil {
			t.Fatal(err)
		}
		bound := limit
		if bound == 0 {
			bound = DefaultMaxEventSize
		}
		for _, p := range []*Parser{&whole, &split} {
			if len(p.Pending()) > bound {
				t.Fatalf("pending %d > %d", len(p.Pending()), bound)
			}
		}
		if a.err == nil {
			if !bytes.Equal(concatRaw(a), in) || !bytes.Equal(concatRaw(b), in) {
				t.Fatal("raw bytes do not reproduce the input")
			}
			// Re-serialising and re-parsing keeps the decoded fields of dispatched events.
			var wire []byte
			for _, ev := range a.events {
				wire = AppendEvent(wire, ev)
			}
			c := feedChunks(new(Parser), wire)
			if len(c.events) != len(a.events) {
				t.Fatalf("round trip: %d events, want %d", len(c.events), len(a.events))
			}
			for i, ev := range a.events {
				g := c.events[i]
				if g.Empty != ev.Empty || !bytes.Equal(g.Data, ev.Data) || g.Retry != ev.Retry || g.HasID != ev.HasID {
					t.Fatalf("round trip event %d: %+v vs %+v", i, g, ev)
				}
			}
		}
		_ = split.Flush(func(*Event) error { return nil })
	})
}

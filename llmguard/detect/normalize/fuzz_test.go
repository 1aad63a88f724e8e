package normalize

import (
	"testing"
	"unicode/utf8"
)

func FuzzFold(f *testing.F) {
	for _, s := range []string{"", "Ignore ALL previous", "і g n 0 r e\u200b\u202e", "\U000E0069\U000E0067", "ｆｕｌｌ ﬁ", "\xff\xfe", "SGVsbG8gd29ybGQgaGVsbG8="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := Fold(s)
		if len(r.Map) != len(r.Text)+1 || r.Orig(len(r.Text)) != len(s) {
			t.Fatalf("map length %d for text %d", len(r.Map), len(r.Text))
		}
		prev := 0
		for _, o := range r.Map {
			if int(o) < prev || int(o) > len(s) || (int(o) < len(s) && !utf8.RuneStart(s[o])) {
				t.Fatalf("bad map offset %d", o)
			}
			prev = int(o)
		}
		for _, sp := range r.Invisible {
			if sp[0] >= sp[1] || sp[1] > len(s) || !utf8.RuneStart(s[sp[0]]) {
				t.Fatalf("bad invisible span %v", sp)
			}
		}
		sq := Squeeze(r.Text)
		if len(sq) > 0 {
			o := SqueezedOffsets(r.Text, []int{0, len(sq) - 1})
			if r.Text[o[0]] != sq[0] || r.Text[o[1]] != sq[len(sq)-1] {
				t.Fatal("squeeze offsets")
			}
		}
		for _, p := range Payloads(s) {
			if p.Start < 0 || p.End > len(s) || p.Start >= p.End || !utf8.ValidString(p.Text) {
				t.Fatalf("bad payload %+v", p)
			}
		}
	})
}

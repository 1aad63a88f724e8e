package detect

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRedactAndRestore(t *testing.T) {
	text := "mail a@x.io, then b@y.io, then a@x.io; card 4111111111111111"
	fs := []Finding{
		{Type: "EMAIL_ADDRESS", Start: 5, End: 11},
		{Type: "EMAIL_ADDRESS", Start: 18, End: 24},
		{Type: "EMAIL_ADDRESS", Start: 31, End: 37},
		{Type: "CREDIT_CARD", Start: 44, End: 60},
		{Type: "CREDIT_CARD", Start: 46, End: 50}, // overlapping: swallowed
	}
	v := NewVault()
	got, n := Redact(text, fs, v)
	want := "mail [EMAIL_ADDRESS_1], then [EMAIL_ADDRESS_2], then [EMAIL_ADDRESS_1]; card [CREDIT_CARD_1]"
	if got != want || n != 4 {
		t.Fatalf("Redact = %q (%d), want %q", got, n, want)
	}
	if v.Restore(got) != text {
		t.Fatalf("Restore = %q", v.Restore(got))
	}
	if s, ok := v.Lookup("[EMAIL_ADDRESS_2]"); !ok || s != "b@y.io" {
		t.Fatalf("Lookup = %q %v", s, ok)
	}
	if v.Restore("[EMAIL_ADDRESS_9] [x] [") != "[EMAIL_ADDRESS_9] [x] [" {
		t.Fatal("unknown placeholders must stay")
	}
}

// TestRestorerSplits feeds a redacted text to the streaming restorer cut at every
// possible pair of positions and checks the output equals a one-shot restore, and that
// no more than MaxPlaceholderLen-1 bytes are ever held back.
func TestRestorerSplits(t *testing.T) {
	v := NewVault()
	text := "Hi [PERSON_1], write to "
	p1 := v.Placeholder("EMAIL_ADDRESS", "jane@example.com")
	p2 := v.Placeholder("PHONE_NUMBER", "+1 415 555 0132")
	text += p1 + " or call " + p2 + " [not one] [" + p1
	want := v.Restore(text)
	if !strings.Contains(want, "jane@example.com") || strings.Contains(want, "[EMAIL") {
		t.Fatalf("bad one-shot restore %q", want)
	}
	for i := 0; i <= len(text); i++ {
		for j := i; j <= len(text); j += 3 {
			r := v.NewRestorer()
			out := r.Write(text[:i])
			out += r.Write(text[i:j])
			if r.Pending() >= v.MaxPlaceholderLen() {
				t.Fatalf("held back %d bytes", r.Pending())
			}
			out += r.Write(text[j:])
			out += r.Flush()
			if out != want {
				t.Fatalf("split %d,%d: %q, want %q", i, j, out, want)
			}
		}
	}
}

func TestSetAllowlist(t *testing.T) {
	d := fixed{{Type: "A", Start: 0, End: 3}, {Type: "B", Start: 5, End: 8}, {Type: "C", Start: 9, End: 10}}
	s := Set{Detectors: []Detector{d}, Allow: spans{{6, 7}, {2, 3}, {1, 2}}}
	fs := s.Detect("0123456789", nil)
	if len(fs) != 1 || fs[0].Type != "C" {
		t.Fatalf("got %+v", fs)
	}
}

type fixed []Finding

func (f fixed) Name() string                             { return "fixed" }
func (f fixed) Detect(_ string, dst []Finding) []Finding { return append(dst, f...) }

type spans [][2]int

func (s spans) AllowedSpans(_ string, dst [][2]int) [][2]int { return append(dst, s...) }

func TestVaultReserve(t *testing.T) {
	v := NewVault()
	v.Reserve("x [EMAIL_ADDRESS_1] [EMAIL_ADDRESS_2 [lower_1] [] [EMAIL_ADDRESS_3]] [" + strings.Repeat("A", 200) + "]")
	if p := v.Placeholder("EMAIL_ADDRESS", "a@example.org"); p != "[EMAIL_ADDRESS_2]" {
		t.Fatalf("first placeholder %s", p)
	}
	if p := v.Placeholder("EMAIL_ADDRESS", "b@example.org"); p != "[EMAIL_ADDRESS_4]" {
		t.Fatalf("second placeholder %s", p)
	}
	if got := v.Restore("[EMAIL_ADDRESS_1][EMAIL_ADDRESS_2][EMAIL_ADDRESS_3][EMAIL_ADDRESS_4]"); got != "[EMAIL_ADDRESS_1]a@example.org[EMAIL_ADDRESS_3]b@example.org" {
		t.Fatalf("restored %s", got)
	}
}

// FuzzVault: a placeholder-shaped text the client wrote is never handed out, Redact
// hides every finding, and RestoreJSON of the JSON-escaped text decodes to what Restore
// gives for the text itself.
func FuzzVault(f *testing.F) {
	f.Add("mail [EMAIL_ADDRESS_1] a@b.c", `x"\`, 5, 10)
	f.Add("[A_1][A_2]", "\x01\n", 0, 5)
	f.Fuzz(func(t *testing.T, text, value string, start, end int) {
		if !utf8.ValidString(text) || !utf8.ValidString(value) {
			return
		}
		v := NewVault()
		v.Reserve(text)
		ph := v.Placeholder("EMAIL_ADDRESS", value)
		if strings.Contains(text, ph) {
			t.Fatalf("issued %s, which the client's text contains", ph)
		}
		f := Finding{Type: "EMAIL_ADDRESS", Start: start, End: end}
		if f.Valid(text) {
			// The finding's bytes are replaced by exactly one placeholder, that placeholder
			// restores to them, and nothing else in the text changes.
			out, n := Redact(text, []Finding{f}, v)
			tail := len(text) - end
			if n != 1 || len(out) < start+tail || out[:start] != text[:start] || out[len(out)-tail:] != text[end:] {
				t.Fatalf("redact %q [%d:%d] -> %q", text, start, end, out)
			}
			holder := out[start : len(out)-tail]
			if orig, ok := v.Lookup(holder); !ok || orig != text[start:end] || strings.Contains(text, holder) {
				t.Fatalf("redact %q [%d:%d]: %q stands for %q (known %v)", text, start, end, holder, orig, ok)
			}
		}
		withPh := text + ph
		esc, _ := json.Marshal(withPh)
		var back string
		if err := json.Unmarshal([]byte(`"`+v.RestoreJSON(string(esc[1:len(esc)-1]))+`"`), &back); err != nil {
			t.Fatalf("RestoreJSON broke the string: %v", err)
		}
		if want := v.Restore(withPh); back != want {
			t.Fatalf("RestoreJSON %q, Restore %q", back, want)
		}
	})
}

// TestRedactRepairsInvalidFindings: a finding that is out of range or cuts a UTF-8
// sequence (a faulty detector module's) is clipped to the text and widened to the
// characters it touches before findings are merged, so it neither hides the valid finding
// it overlaps nor leaves a byte it covered in clear; one with nothing of the text left is
// dropped; the findings given are left as they were.
func TestRedactRepairsInvalidFindings(t *testing.T) {
	text := "Mail jane@example.com — café"
	at := strings.Index(text, "jane")
	mail := Finding{Type: "EMAIL_ADDRESS", Start: at, End: at + len("jane@example.com")}
	cut := strings.Index(text, "é") + 1 // inside é
	fs := []Finding{
		mail,
		{Type: "BROKEN", Start: at + 3, End: len(text) + 9},        // runs past the end: clipped, merged into mail's span
		{Type: "BROKEN", Start: len(text) + 1, End: len(text) + 5}, // nothing of the text: dropped
	}
	before := append([]Finding(nil), fs...)
	got, n := Redact(text, fs, NewVault())
	if want := "Mail [EMAIL_ADDRESS_1]"; got != want || n != 1 {
		t.Errorf("Redact = %q (%d), want %q", got, n, want)
	}
	for i := range fs {
		if fs[i] != before[i] {
			t.Errorf("Redact changed its input: %v", fs)
		}
	}
	// An invalid finding that sorts first (it starts before the text) names the span and
	// does not hide the address; one ending inside é covers the whole é.
	got, _ = Redact(text, []Finding{mail, {Type: "BROKEN", Start: -1, End: at + 1}, {Type: "CUT", Start: cut - 3, End: cut}}, NewVault())
	if want := "[BROKEN_1] — c[CUT_1]"; got != want {
		t.Errorf("repaired: %q, want %q", got, want)
	}
}

// FuzzRedactSpans: findings with arbitrary offsets (a faulty detector's) never make Redact
// panic, the spans it replaces are disjoint, ordered, on character boundaries and cover
// every byte of the text any finding covered.
func FuzzRedactSpans(f *testing.F) {
	f.Add("Mail jane@example.com — café", -3, 9, 5, 40, 27, 28)
	f.Fuzz(func(t *testing.T, text string, s1, e1, s2, e2, s3, e3 int) {
		fs := []Finding{{Type: "A", Start: s1, End: e1}, {Type: "B", Start: s2, End: e2}, {Type: "C", Start: s3, End: e3}}
		spans := Spans(text, fs)
		covered := make([]bool, len(text))
		pos := 0
		for _, sp := range spans {
			if sp.Start < pos || sp.End <= sp.Start || sp.End > len(text) || !(Finding{Start: sp.Start, End: sp.End}).Valid(text) {
				t.Fatalf("bad span %+v after %d in %q", sp, pos, text)
			}
			for i := sp.Start; i < sp.End; i++ {
				covered[i] = true
			}
			pos = sp.End
		}
		for _, x := range fs {
			for i := max(x.Start, 0); i < min(x.End, len(text)); i++ {
				if !covered[i] {
					t.Fatalf("byte %d of finding %+v left in clear (spans %+v)", i, x, spans)
				}
			}
		}
		_, _ = Redact(text, fs, NewVault())
	})
}

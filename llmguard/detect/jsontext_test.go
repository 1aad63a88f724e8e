package detect

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestFitJSONText(t *testing.T) {
	for _, tt := range []struct {
		text, found, want string
	}{
		{`{"to":"x\nalice@example.com"}`, `nalice@example.com`, `alice@example.com`},
		{`{"to":"x\u00e9alice@example.com"}`, `9alice@example.com`, `alice@example.com`},
		{`{"to":"x\u00e9alice@example.com"}`, `e9alice@example.com`, `alice@example.com`},
		{`{"to":"x\\nalice@example.com"}`, `nalice@example.com`, `nalice@example.com`},
		{`{"k":"sk-abc\"}`, `sk-abc\`, `sk-abc`},
		{`{"k":"abc\u00"}`, `abc\u00`, `abc`},
		{`{"k":"a\tb"}`, `a\tb`, `a\tb`},
	} {
		i := strings.Index(tt.text, tt.found)
		f, ok := FitJSONText(tt.text, Finding{Start: i, End: i + len(tt.found)})
		if !ok || tt.text[f.Start:f.End] != tt.want {
			t.Errorf("%s / %s: got %q ok=%v, want %q", tt.text, tt.found, tt.text[f.Start:f.End], ok, tt.want)
		}
	}
	if _, ok := FitJSONText(`"\n"`, Finding{Start: 2, End: 3}); ok {
		t.Error("a span inside an escape survived")
	}
}

// FuzzFitJSONText: replacing any fitted span of a valid JSON string's inside with a
// placeholder keeps it a valid JSON string.
func FuzzFitJSONText(f *testing.F) {
	f.Add(`x\nalice@example.com`, 3, 10)
	f.Add(`\u00e9\\\"`, 1, 7)
	f.Fuzz(func(t *testing.T, s string, start, end int) {
		if !json.Valid([]byte(`"`+s+`"`)) || start < 0 || end > len(s) || start >= end {
			return
		}
		fd, ok := FitJSONText(s, Finding{Start: start, End: end})
		if !ok {
			return
		}
		out := `"` + s[:fd.Start] + "[X_1]" + s[fd.End:] + `"`
		if !json.Valid([]byte(out)) {
			t.Fatalf("%q [%d:%d] -> %q", s, fd.Start, fd.End, out)
		}
	})
}

package jsonspan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// object returns a JSON object with n members "k0".."k{n-1}"; when dupOf >= 0 a last
// member repeats key k{dupOf}. inner, when not empty, is the value of member k1 (nesting).
func object(n, dupOf int, inner string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		v := fmt.Sprint(i)
		if i == 1 && inner != "" {
			v = inner
		}
		fmt.Fprintf(&b, `"k%d":%s`, i, v)
	}
	if dupOf >= 0 {
		fmt.Fprintf(&b, `,"k%d":"again"`, dupOf)
	}
	b.WriteByte('}')
	return b.String()
}

// TestKeySetBothPaths covers the linear scan (up to 16 keys) and the set built past it:
// a repeat of the first, a middle and the last key is caught at every size.
func TestKeySetBothPaths(t *testing.T) {
	for _, n := range []int{1, 2, 15, 16, 17, 18, 33, 200} {
		for _, dup := range []int{0, n / 2, n - 1} {
			var s KeySet
			for i := range n {
				if !s.Add(fmt.Sprintf("k%d", i)) {
					t.Fatalf("n=%d: fresh key k%d reported as repeated", n, i)
				}
			}
			if s.Add(fmt.Sprintf("k%d", dup)) {
				t.Fatalf("n=%d: repeat of k%d not caught", n, dup)
			}
			// Keys added after the set was built are recorded too.
			if !s.Add("late") || s.Add("late") {
				t.Fatalf("n=%d: a key added late is not tracked", n)
			}
			if len(s.Keys()) != n+1 {
				t.Fatalf("n=%d: %d keys kept", n, len(s.Keys()))
			}
		}
	}
}

func TestUnique(t *testing.T) {
	var docs []string
	for _, n := range []int{2, 16, 17, 40} {
		for _, depth := range []int{0, 1, 4} {
			for _, dup := range []int{0, n - 1} {
				bad := object(n, dup, "")
				good := object(n, -1, "")
				for range depth {
					// Nest in an object member and an array, so both containers are walked.
					bad = object(3, -1, "["+bad+"]")
					good = object(3, -1, "["+good+"]")
				}
				docs = append(docs, good)
				var de *DuplicateKeyError
				if err := Unique([]byte(bad)); !errors.As(err, &de) || de.Key != fmt.Sprintf("k%d", dup) {
					t.Errorf("n=%d depth=%d: %v for %.80s", n, depth, err, bad)
				}
			}
		}
	}
	docs = append(docs, `[]`, `{}`, ` 5 `, `"s"`, `[{"a":1},{"a":2}]`, `{"a":{"a":{"a":1}}}`, `{"":1,"\u0000":2}`)
	for _, d := range docs {
		if err := Unique([]byte(d)); err != nil {
			t.Errorf("%.80s: %v", d, err)
		}
	}
	for _, d := range []string{`{"model":"a","mod\u0065l":"b"}`, `{"a\/b":1,"a/b":2}`, "{\"\xff\":1,\"\xfe\":2}"} {
		if err := Unique([]byte(d)); err == nil {
			t.Errorf("%q: keys that decode alike were not caught", d)
		}
	}
	for _, d := range []string{``, `{`, `{"a":1} {}`, `{"a" 1}`, `[1,]`} {
		if err := Unique([]byte(d)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v, want ErrInvalid", d, err)
		}
	}
}

// TestUniqueFold: keys encoding/json would match to the same struct field are repeats,
// whatever their case (also past the linear scan and with Unicode folds such as the
// Kelvin sign, which encoding/json matches to "k"); keys differing otherwise are not.
func TestUniqueFold(t *testing.T) {
	for _, d := range []string{`{"disabled":false,"Disabled":true}`, `{"ID":"a","id":"b"}`,
		strings.TrimSuffix(object(20, -1, ""), "}") + `,"K0":1}`, `{"k":1,"\u212a":2}`, `{"ſ":1,"S":2}`} {
		var de *DuplicateKeyError
		if err := UniqueFold([]byte(d)); !errors.As(err, &de) || !de.Folded {
			t.Errorf("%.80s: %v", d, err)
		}
	}
	for _, d := range []string{`{"disabled":true,"disabled_at":1}`, `{"a":{"A":1},"b":{"A":2}}`, object(20, -1, "")} {
		if err := UniqueFold([]byte(d)); err != nil {
			t.Errorf("%.80s: %v", d, err)
		}
	}
	// The stdlib really does read both spellings into one field: this is the differential.
	var v struct{ Disabled bool }
	if err := json.Unmarshal([]byte(`{"disabled":true,"Disabled":false}`), &v); err != nil || v.Disabled {
		t.Fatalf("encoding/json no longer folds case (%v, %v): revisit UniqueFold's reason", v, err)
	}
}

// uniqueByTokens is an independent reference: encoding/json's tokenizer with a set of
// keys per open object; with fold, keys are compared by strings.EqualFold (what
// encoding/json uses to match keys to struct fields) against every earlier key.
func uniqueByTokens(b []byte, fold bool) (valid, unique bool) {
	if !json.Valid(b) {
		return false, false
	}
	d := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		obj    bool
		keys   map[string]bool
		list   []string
		expect bool // next string token in this object is a key
	}
	var stack []*frame
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return true, true
		}
		if err != nil {
			return true, true // json.Valid said valid; tokenizer limits are not our concern
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if k, isKey := tok.(string); isKey && top != nil && top.obj && top.expect {
			if top.keys[k] {
				return true, false
			}
			if fold {
				for _, prev := range top.list {
					if strings.EqualFold(prev, k) {
						return true, false
					}
				}
				top.list = append(top.list, k)
			}
			top.keys[k] = true
			top.expect = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{obj: true, keys: map[string]bool{}, expect: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 && stack[len(stack)-1].obj {
			stack[len(stack)-1].expect = true
		}
	}
}

// FuzzUnique: Unique accepts exactly the valid documents in which encoding/json's own
// tokenizer sees no object repeat a key.
func FuzzUnique(f *testing.F) {
	for _, s := range []string{object(17, 3, object(20, 19, "")), object(17, -1, `[{"a":1,"a":2}]`),
		`{"model":"a","mod\u0065l":"b"}`, `[{"a":1},{"a":1}]`, `{"a":[1,{"b":{"c":{}}}],"b":null}`} {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"disabled":false,"Disabled":true}`))
	f.Add([]byte("{\"k\":1,\"\u212a\":2,\"\u017f\":3,\"S\":4}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fold := range []bool{false, true} {
			valid, unique := uniqueByTokens(b, fold)
			check := Unique
			if fold {
				check = UniqueFold
			}
			err := check(b)
			switch {
			case !valid && !errors.Is(err, ErrInvalid):
				t.Fatalf("fold=%v: invalid JSON %q: %v", fold, b, err)
			case valid && unique && err != nil:
				t.Fatalf("fold=%v: refused %q: %v", fold, b, err)
			case valid && !unique && err == nil:
				t.Fatalf("fold=%v: missed a repeated key in %q", fold, b)
			}
		}
	})
}

// FuzzValid holds valid to encoding/json's Valid on any input.
func FuzzValid(f *testing.F) {
	for _, s := range []string{`{"a":[1,-0.5e+3,true,false,null,"x\u00e9\n"]}`, ` [] `, `{}`, `"\ud800"`, `01`, `1.`, `-`, `1e`, `[1,]`, `{"a":1,}`,
		`{"a" : { "b" : [ ] } }`, "\"\x01\"", `"\x"`, `"\u12g4"`, `tru`, `nul`, `[1 2]`, `{"a"}`, "\"\xff\"", `1 2`, ``} {
		f.Add([]byte(s))
	}
	f.Add([]byte(strings.Repeat("[", 10000) + strings.Repeat("]", 10000)))
	f.Add([]byte(strings.Repeat("[", 10001) + strings.Repeat("]", 10001)))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := valid(b), json.Valid(b); got != want {
			t.Fatalf("valid(%q) = %v, json.Valid = %v", b, got, want)
		}
	})
}

// FuzzAppendCompact holds AppendCompact to encoding/json.Compact: the same bytes for
// valid input, refused exactly when Compact fails.
func FuzzAppendCompact(f *testing.F) {
	for _, s := range []string{`{"a" : [1, 2 ,{"b":"x y\" \\ "}] }`, " \t\n\"s\"\r ", `[]`, `{"a":}`, `"\u00e9 \t"`, "{\"a\":\"b\"}\n", `[1,2]x`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want bytes.Buffer
		werr := json.Compact(&want, b)
		got, ok := AppendCompact([]byte("prefix"), b)
		if ok != (werr == nil) {
			t.Fatalf("AppendCompact(%q) ok %v, json.Compact error %v", b, ok, werr)
		}
		if ok && string(got) != "prefix"+want.String() {
			t.Fatalf("AppendCompact(%q) = %q, json.Compact %q", b, got, want.String())
		}
		if !ok && string(got) != "prefix" {
			t.Fatalf("AppendCompact(%q) changed dst on failure: %q", b, got)
		}
	})
}

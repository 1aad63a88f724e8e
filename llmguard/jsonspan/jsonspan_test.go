package jsonspan

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestRemove(t *testing.T) {
	drop := func(keys ...string) func(ms []Member) func(int) bool {
		return func(ms []Member) func(int) bool {
			return func(i int) bool {
				for _, k := range keys {
					if ms[i].Key == k {
						return true
					}
				}
				return false
			}
		}
	}
	for _, tt := range []struct {
		in   string
		drop func([]Member) func(int) bool
		out  string
	}{
		{`{"a":1,"b":2,"c":3}`, drop("b"), `{"a":1,"c":3}`},
		{`{"a":1,"b":2,"c":3}`, drop("a", "b"), `{"c":3}`},
		{`{"a":1,"b":2,"c":3}`, drop("b", "c"), `{"a":1}`},
		{`{"a":1,"b":2,"c":3}`, drop("a", "c"), `{"b":2}`},
		{`{ "a" : 1 , "b" : 2 }`, drop("a", "b"), `{  }`},
		{"{\n  \"a\": 1,\n  \"b\": [1, {\"c\": \"}\"}],\n  \"d\": true\n}", drop("b"), "{\n  \"a\": 1,\n  \"d\": true\n}"},
		{`{"a":1}`, drop("x"), `{"a":1}`},
		{`{"a\u0062":1,"c":2}`, drop("ab"), `{"c":2}`},
	} {
		ms, _, err := Members([]byte(tt.in), 0)
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if got := string(Remove([]byte(tt.in), ms, tt.drop(ms))); got != tt.out {
			t.Errorf("%s: got %s, want %s", tt.in, got, tt.out)
		}
	}
	for _, bad := range []string{``, `[1]`, `{"a"}`, `{"a":1`, `{"a":1 "b":2}`, `{"a`, `{"a":"x`, `{"a":[1,2}`} {
		if _, _, err := Members([]byte(bad), 0); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzRemove: dropping any subset of the members of a valid object (selected by the
// bits of mask) leaves valid JSON equal to the object without those keys.
func FuzzRemove(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":{"c":[1,"]"]},"d":null}`), uint64(2))
	f.Add([]byte(`{ "x" : "\"" , "y" : -1.5e3 }`), uint64(3))
	f.Fuzz(func(t *testing.T, in []byte, mask uint64) {
		ms, _, err := Members(in, SkipWS(in, 0))
		if err != nil || !json.Valid(in) || len(ms) > 64 {
			return
		}
		var before map[string]any
		if json.Unmarshal(in, &before) != nil || len(before) != len(ms) { // duplicate keys
			return
		}
		out := Remove(in, ms, func(i int) bool { return mask&(1<<i) != 0 })
		var after map[string]any
		if err := json.Unmarshal(out, &after); err != nil {
			t.Fatalf("%s -> %s: %v", in, out, err)
		}
		for i, m := range ms {
			if mask&(1<<i) != 0 {
				delete(before, m.Key)
			}
		}
		if !reflect.DeepEqual(before, after) {
			t.Fatalf("%s -> %s", in, out)
		}
	})
}

// FuzzSkipString holds skipString's quote-to-quote jumps to the byte-by-byte reading of
// escapes it replaced, on any input.
func FuzzSkipString(f *testing.F) {
	for _, s := range []string{`"abc"`, `"a\"b"`, `"a\\"b"`, `"a\\\"b"`, `"\\\\"`, `"\`, `"abc`, `"\u00e9\n"x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 || b[0] != '"' {
			return
		}
		ref := func() (int, bool) {
			for j := 1; j < len(b); j++ {
				switch b[j] {
				case '\\':
					j++
				case '"':
					return j + 1, true
				}
			}
			return 0, false
		}
		want, ok := ref()
		got, err := skipString(b, 0)
		if ok != (err == nil) || got != want {
			t.Fatalf("skipString(%q) = %d, %v; reading escapes: %d, %v", b, got, err, want, ok)
		}
	})
}

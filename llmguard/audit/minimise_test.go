package audit

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestDeleteFields(t *testing.T) {
	del := map[string]bool{"user": true, "metadata": true}
	for _, tt := range []struct{ in, out string }{
		{`{"model":"m","user":"u-1"}`, `{"model":"m"}`},
		{`{"user":"u-1","model":"m"}`, `{"model":"m"}`},
		{`{"user":"u","metadata":{"a":[1,2]},"model":"m"}`, `{"model":"m"}`},
		{`{ "model" : "m" , "user" : "u" , "n" : 1.50 }`, `{ "model" : "m" , "n" : 1.50 }`},
		{`{"user":"u"}`, `{}`},
		{`{"user":"a","user":"b","x":1}`, `{"x":1}`},
		{"{\n  \"model\": \"m\",\n  \"metadata\": {},\n  \"stream\": true\n}", "{\n  \"model\": \"m\",\n  \"stream\": true\n}"},
		{`{"model":"m"}`, `{"model":"m"}`},
	} {
		got, _, ok := DeleteFields([]byte(tt.in), del)
		if !ok || string(got) != tt.out {
			t.Errorf("%s: got %s (ok %v), want %s", tt.in, got, ok, tt.out)
		}
	}
	for _, bad := range []string{`[1]`, `{"a":`, `{"a":1} x`, ``} {
		if got, _, ok := DeleteFields([]byte(bad), del); ok || string(got) != bad {
			t.Errorf("%q: ok=%v %q", bad, ok, got)
		}
	}
}

// FuzzDeleteFields checks that the result is valid JSON equal to the input minus the
// deleted keys, whatever the input.
func FuzzDeleteFields(f *testing.F) {
	for _, s := range []string{`{"model":"m","user":"u"}`, `{"user":1,"user":2}`, `{ "a" : [ {"user":1} ] , "metadata" : null }`, `{}`} {
		f.Add(s)
	}
	del := map[string]bool{"user": true, "metadata": true}
	f.Fuzz(func(t *testing.T, in string) {
		got, _, ok := DeleteFields([]byte(in), del)
		if !ok {
			if string(got) != in {
				t.Fatal("changed a body it could not parse")
			}
			return
		}
		var before, after map[string]any
		if err := json.Unmarshal([]byte(in), &before); err != nil {
			return // the decoder is more lenient with duplicate keys etc.; only check valid objects
		}
		if err := json.Unmarshal(got, &after); err != nil {
			t.Fatalf("%q -> %q: invalid JSON: %v", in, got, err)
		}
		for k := range del {
			delete(before, k)
		}
		if !reflect.DeepEqual(before, after) {
			t.Fatalf("%q -> %q", in, got)
		}
	})
}

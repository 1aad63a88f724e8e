package llmratelimit

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/jsonspan"
)

func TestSetIncludeUsage(t *testing.T) {
	for in, want := range map[string]string{
		`{"model":"m","stream":true}`:         `{"stream_options":{"include_usage":true},"model":"m","stream":true}`,
		`{}`:                                  `{"stream_options":{"include_usage":true}}`,
		` { "stream_options" : null , "x":1}`: ` { "stream_options" : {"include_usage":true} , "x":1}`,
		`{"stream_options":{"include_usage":false},"a":[1,"}"]}`:   `{"stream_options":{"include_usage":true},"a":[1,"}"]}`,
		`{"stream_options":{"other":"x\"}"}}`:                      `{"stream_options":{"include_usage":true,"other":"x\"}"}}`,
		`{"a":{"stream_options":1},"stream_options":{ }}`:          `{"a":{"stream_options":1},"stream_options":{"include_usage":true }}`,
		`{"stre\u0061m_options":{"include_usage":false},"n":1e-3}`: `{"stre\u0061m_options":{"include_usage":true},"n":1e-3}`,
	} {
		got, err := setIncludeUsage([]byte(in))
		if err != nil || string(got) != want {
			t.Errorf("%s:\n got %s (%v)\nwant %s", in, got, err, want)
		}
	}
	for _, bad := range []string{``, `[]`, `{"a"}`, `{"a":`, `"x"`} {
		if _, err := setIncludeUsage([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRemoveUsage(t *testing.T) {
	for in, want := range map[string]struct {
		out   string
		empty bool
	}{
		`{"id":"x","choices":[{"delta":{}}],"usage":null}`:     {`{"id":"x","choices":[{"delta":{}}]}`, false},
		`{"usage":null,"id":"x"}`:                              {`{"id":"x"}`, false},
		`{"id":"x","choices":[ ],"usage":{"prompt_tokens":1}}`: {`{"id":"x","choices":[ ]}`, true},
		`{"usage":1}`: {`{}`, false},
	} {
		got, found, empty := removeMember([]byte(in), "usage")
		if !found || string(got) != want.out || empty != want.empty {
			t.Errorf("%s: %s %v %v", in, got, found, empty)
		}
	}
}

func decodeObject(b []byte) (map[string]any, bool) {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if d.Decode(&m) != nil || m == nil {
		return nil, false
	}
	return m, true
}

// FuzzSetIncludeUsage: for any JSON object, the result is valid JSON in which
// stream_options.include_usage is true and every other member is unchanged.
func FuzzSetIncludeUsage(f *testing.F) {
	for _, s := range []string{`{}`, `{"model":"m","stream":true}`, `{"stream_options":null}`,
		`{"stream_options":{"include_usage":false,"x":[{"}":"{"}]}}`, ` {"a" : "\"" }`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		orig, ok := decodeObject(in)
		out, err := setIncludeUsage(in)
		if !ok || !json.Valid(in) {
			return // only valid objects reach the injector (the body was parsed before)
		}
		if _, dup := hasDuplicateKeys(in); dup {
			return // the request parser refuses duplicate keys
		}
		if err != nil {
			t.Fatalf("valid object refused: %v", err)
		}
		got, ok := decodeObject(out)
		if !ok {
			t.Fatalf("invalid result %s", out)
		}
		so, _ := got["stream_options"].(map[string]any)
		if so == nil || so["include_usage"] != true {
			t.Fatalf("include_usage not set: %s", out)
		}
		delete(got, "stream_options")
		oso, _ := orig["stream_options"].(map[string]any)
		delete(orig, "stream_options")
		if !reflect.DeepEqual(got, orig) {
			t.Fatalf("other members changed:\n%s\n%s", in, out)
		}
		for k, v := range oso {
			if k != "include_usage" && !reflect.DeepEqual(so[k], v) {
				t.Fatalf("stream_options.%s changed", k)
			}
		}
	})
}

// FuzzRemoveMember: removing "usage" from any JSON object leaves valid JSON with the
// other members unchanged.
func FuzzRemoveMember(f *testing.F) {
	f.Add([]byte(`{"choices":[],"usage":{"a":1}}`))
	f.Add([]byte(`{"usage":null,"b":"x"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		orig, ok := decodeObject(in)
		if !ok || !json.Valid(in) {
			return
		}
		if _, dup := hasDuplicateKeys(in); dup {
			return
		}
		out, found, _ := removeMember(in, "usage")
		_, had := orig["usage"]
		if found != had {
			t.Fatalf("found %v, had %v: %s", found, had, in)
		}
		got, ok := decodeObject(out)
		if !ok {
			t.Fatalf("invalid result %s from %s", out, in)
		}
		delete(orig, "usage")
		if !reflect.DeepEqual(got, orig) {
			t.Fatalf("members changed:\n%s\n%s", in, out)
		}
	})
}

// hasDuplicateKeys reports duplicate top-level keys (where "first" and "last" wins differ).
func hasDuplicateKeys(b []byte) (string, bool) {
	ms, _, err := jsonspan.Members(b, jsonspan.SkipWS(b, 0))
	if err != nil {
		return "", false
	}
	seen := map[string]bool{}
	for _, m := range ms {
		if seen[m.Key] {
			return m.Key, true
		}
		seen[m.Key] = true
		if m.Key == "stream_options" && b[m.ValStart] == '{' {
			inner, _, _ := jsonspan.Members(b, m.ValStart)
			s2 := map[string]bool{}
			for _, im := range inner {
				if s2[im.Key] {
					return im.Key, true
				}
				s2[im.Key] = true
			}
		}
	}
	return "", false
}

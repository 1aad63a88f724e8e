package keyadmin

import (
	"errors"
	"strings"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
	"github.com/llmguard/caddy-llmguard/llmguard/glob"
)

// FuzzParseSpec: whatever the body, the parser either refuses it with an InvalidError or
// returns a spec whose id and models the gateway accepts — never a spec that would make
// the key file unloadable, and never a panic.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{`{"id":"alice","roles":["dev"],"models":["gpt-4o*"],"expires":"2031-01-01T00:00:00Z"}`,
		`{"id":"a","metadata":{"k":"v"}}`, `{"id":"a","hash":"x"}`, `{"id":""}`, `[`, `{"id":"a","models":["[a-"]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSpec(data)
		if err != nil {
			var ie *InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if auth.CheckKeyID(s.ID) != nil {
			t.Fatalf("invalid id %q accepted", s.ID)
		}
		for _, m := range s.Models {
			if glob.Valid(m) != nil {
				t.Fatalf("invalid model glob %q accepted", m)
			}
		}
		if _, err := auth.NewKeyStore([]*auth.Entry{{ID: s.ID, Hash: auth.HashKey("k"), Attributes: s.Attributes}}); err != nil {
			t.Fatalf("accepted spec %s is refused by the key store: %v", data, err)
		}
		if _, ok := s.Metadata["id"]; ok {
			t.Fatal("metadata key id accepted")
		}
	})
}

// FuzzParsePatch: a patch never changes the id or the secret, and a refusal is always an
// InvalidError.
func FuzzParsePatch(f *testing.F) {
	for _, s := range []string{`{"tier":"x"}`, `{"expires":null}`, `{"roles":null,"disabled":true}`, `{"id":"b"}`, `{}`, `{"metadata":{"a":"b"}}`,
		`{"allowed_networks":["10.0.0.0/8"],"allowed_countries":["DE"]}`, `{"allowed_networks":["x"]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePatch(data)
		if err != nil {
			var ie *InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if strings.Contains(string(data), `"hash"`) && !strings.Contains(string(data), `\`) {
			t.Fatalf("a patch naming hash was accepted: %s", data)
		}
		// Applied to any valid key, an accepted patch leaves attributes the key store
		// loads: a patch can never make the key file unloadable.
		a := auth.Attributes{Models: []string{"gpt-4o*"}, AllowedNetworks: []string{"10.0.0.0/8"}}
		if err := p.apply(&a); err != nil {
			t.Fatalf("accepted patch %s does not apply: %v", data, err)
		}
		if err := a.Check(); err != nil {
			t.Fatalf("patch %s made the key invalid: %v", data, err)
		}
	})
}

// FuzzParseGrace: an accepted grace is within [0, MaxGrace].
func FuzzParseGrace(f *testing.F) {
	for _, s := range []string{``, `{"grace":"1h"}`, `{"grace":"-5m"}`, `{"grace":"9999999h"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseGrace(data)
		if err == nil && (d < 0 || d > MaxGrace) {
			t.Fatalf("grace %v accepted", d)
		}
	})
}

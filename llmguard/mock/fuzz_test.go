package mock

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzServeHTTP feeds arbitrary bodies and steering headers to every endpoint: the mock
// must answer each with a well-formed status and never panic or answer 500.
func FuzzServeHTTP(f *testing.F) {
	for _, seed := range []string{
		chatBody,
		`{"model":"gpt-4o","stream":true,"n":3,"max_tokens":2,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}]}`,
		`{"model":"claude-sonnet-4-5","max_tokens":1,"stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`,
		`{"model":"text-embedding-3-small","input":[[1,2],[3]],"dimensions":4,"encoding_format":"base64"}`,
		`{"model":"gpt-4o","input":[{"role":"user","content":"hi"}],"max_output_tokens":1,"stream":true}`,
		`{"model":"gpt-3.5-turbo-instruct","prompt":["a","b"],"stream":true}`,
		`{`, ``, `[]`, `{"model":1}`,
	} {
		for _, path := range []string{"/v1/chat/completions", "/v1/messages", "/v1/embeddings", "/v1/responses", "/v1/completions", "/v1/moderations"} {
			f.Add(path, seed, "", "")
		}
	}
	f.Add("/v1/chat/completions", chatBody, "after=0", "echo")
	f.Add("/v1/moderations", `{"input":[{"type":"text","text":"kill"},{"type":"image_url"}]}`, "", "")
	s, err := New(Config{MaxBodySize: 1 << 16})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, path, body, streamErr, mode string) {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.URL.Path = path // any path, even one NewRequest would refuse to parse
		if streamErr != "" && !strings.ContainsAny(streamErr, "\r\n") {
			r.Header.Set(HeaderStreamError, streamErr)
		}
		if mode != "" && !strings.ContainsAny(mode, "\r\n") {
			r.Header.Set(HeaderMode, mode)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code >= 500 || w.Code < 200 {
			t.Fatalf("status %d for %s %q: %s", w.Code, path, body, w.Body)
		}
	})
}

package llmaudit

import (
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/llmguard/caddy-llmguard/llmguard/audit"
)

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// BenchmarkAudit measures what llm_audit adds to one non-streamed chat request: the
// "baseline" runs the inner chain (exchange load + a JSON reply) alone; the others wrap
// it in llm_audit writing JSON events through llm_audit_chain to io.Discard.
func BenchmarkAudit(b *testing.B) {
	body := `{"model":"gpt-4o-mini","user":"u-1","messages":[{"role":"user","content":"Summarise the attached meeting notes in three bullet points, please."}]}`
	inner := (&upstream{reply: chatReply}).handler()
	run := func(b *testing.B, h caddyhttp.Handler) {
		once := func() {
			r := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			repl := caddy.NewReplacer()
			r = r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl))
			w := httptest.NewRecorder()
			if err := h.ServeHTTP(w, r); err != nil || w.Code != 200 {
				b.Fatal(err, w.Code)
			}
		}
		once() // loads the tokenizer outside the timing
		b.ReportAllocs()
		for b.Loop() {
			once()
		}
	}
	b.Run("baseline", func(b *testing.B) { run(b, inner) })
	for _, tc := range []struct {
		name, privacy string
		encrypt       bool
		cf            string
	}{
		{"none/hmac", "none", false, ""},
		{"none/hmac+aesgcm", "none", true, ""},
		{"hash/hmac+aesgcm", "hash", true, ""},
		{"redacted/hmac+aesgcm+strip", "redacted", true, "strip_request user\nstrip_response system_fingerprint\n"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h, _ := newHandler(b, "llm_audit {\nprivacy "+tc.privacy+"\nhash_key "+hashKey+"\n"+tc.cf+"}")
			var key []byte
			if tc.encrypt {
				key, _ = audit.ParseAESKey(testEnc)
			}
			s, err := audit.NewSealer([]byte(testHMAC), "k1", key, rand.Reader)
			if err != nil {
				b.Fatal(err)
			}
			w := &chainWriter{sealer: s, out: nopCloser{io.Discard}}
			enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
			h.logger = zap.New(zapcore.NewCore(enc, zapcore.AddSync(w), zapcore.InfoLevel)).Named("http.handlers.llm_audit")
			run(b, caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error { return h.ServeHTTP(w, r, inner) }))
		})
	}
}

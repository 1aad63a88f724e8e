// Package llmhttp is the Caddy-side glue every llm_* handler shares: it loads the
// per-request Exchange (reading and parsing the body once), publishes the {http.llm.*}
// placeholders, and writes refusals in the error contract of llmguard/apierr.
//
// It is not a Caddy module. It must stay thin: decisions belong in llmguard/, and this
// package only moves bytes between net/http, Caddy and the core.
package llmhttp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/dustin/go-humanize"

	"github.com/llmguard/caddy-llmguard/llmguard/apierr"
	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/tokens"
)

// DefaultMaxBodySize bounds the request body the gateway reads when a handler sets no
// limit: large enough for long contexts with inline images, small enough that a client
// cannot make the gateway buffer unbounded data.
const DefaultMaxBodySize = 16 << 20

// Placeholders published for every request that reaches an llm_* handler.
const (
	PlaceholderEndpoint     = "http.llm.endpoint"          // chat, completions, embeddings, responses, messages, models
	PlaceholderModel        = "http.llm.model"             // requested model
	PlaceholderStream       = "http.llm.stream"            // true/false
	PlaceholderPromptTokens = "http.llm.prompt_tokens"     // counted prompt tokens
	PlaceholderMaxOutput    = "http.llm.max_output_tokens" // client's output allowance, 0 if none
	PlaceholderTokensExact  = "http.llm.tokens_exact"      // whether the count is exact (OpenAI family)
	PlaceholderErrorCode    = "http.llm.error_code"        // code of the refusal the gateway sent, if any
)

// Placeholders set by llm_geo (and the llm_geo matcher) and read by llm_auth's per-key
// country limits and llm_audit's record.
const (
	PlaceholderGeoCountry   = "http.llm.geo.country"   // ISO 3166-1 alpha-2 code, or "unknown"
	PlaceholderGeoContinent = "http.llm.geo.continent" // AF AN AS EU NA OC SA, or "unknown"
)

// Placeholders set by llm_sentinel and read by llm_audit's record.
const (
	PlaceholderRiskScore   = "http.llm.risk.score"   // 0–1, three decimals
	PlaceholderRiskLevel   = "http.llm.risk.level"   // low, elevated or high
	PlaceholderRiskReasons = "http.llm.risk.reasons" // signal names, comma-separated
)

// Load returns the request's Exchange, creating it on first use: the body is read (at most
// maxBody bytes; 0 means DefaultMaxBodySize), parsed and counted, and replaced with an
// in-memory copy so that later handlers and the proxy can read it again. The returned
// request carries the Exchange in its context and must be passed on to next.
//
// A request the gateway cannot accept yields an *apierr.Error saying why; the caller sends
// it with Fail.
func Load(r *http.Request, maxBody int64) (*exchange.Exchange, *http.Request, *apierr.Error) {
	if ex := exchange.FromContext(r.Context()); ex != nil {
		return ex, r, nil
	}
	kind := request.KindFromPath(r.URL.Path)
	ex := &exchange.Exchange{Kind: kind}
	switch kind {
	case request.KindUnknown:
		return nil, r, &apierr.Error{Status: http.StatusNotFound, Code: "unknown_url",
			Message: fmt.Sprintf("Unknown request URL: %s %s. The gateway serves /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/responses, /v1/messages and /v1/models.", r.Method, r.URL.Path)}
	case request.KindModels:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return nil, r, methodNotAllowed(r, "GET")
		}
	default:
		if r.Method != http.MethodPost {
			return nil, r, methodNotAllowed(r, "POST")
		}
		if e := checkContentType(r); e != nil {
			return nil, r, e
		}
		body, e := readBody(r, maxBody)
		if e != nil {
			return nil, r, e
		}
		req, err := request.Parse(kind, body)
		if err != nil {
			var pe *request.Error
			if errors.As(err, &pe) {
				return nil, r, apierr.BadRequest(pe.Param, "invalid_request_error", pe.Message)
			}
			return nil, r, apierr.BadRequest("", "invalid_request_error", err.Error())
		}
		m, err := tokens.ForModel(req.Model)
		if err != nil {
			// The vocabularies are embedded, so this means a broken build, not bad input.
			return nil, r, apierr.New(http.StatusInternalServerError, "tokenizer_unavailable", "the gateway could not load its tokenizer")
		}
		ex.Request, ex.Tokens, ex.Body = req, m, body
		SetBody(r, body)
	}
	if w, ok := r.Context().Value(watchKey{}).(*Watch); ok {
		w.Exchange, w.ClientBody = ex, ex.Body
	}
	if t := TapFromRequest(r); t != nil && t.ex == nil {
		// The tap was installed by an outer handler (llm_audit) before the exchange
		// existed; it needs the exchange for the endpoint kind and output counting.
		t.ex = ex
	}
	publish(r, ex)
	return ex, r.WithContext(exchange.NewContext(r.Context(), ex)), nil
}

// Watch lets a handler that runs before the first Load (llm_audit, which wraps the whole
// route) read the Exchange after next returns: the Exchange travels in a request context
// the outer handler never sees.
type Watch struct {
	// Exchange is the request's Exchange once an inner handler loaded it, else nil.
	Exchange *exchange.Exchange
	// ClientBody is the body as the client sent it; Exchange.Body may since have been
	// replaced by a redaction.
	ClientBody []byte
}

type watchKey struct{}

// WithWatch returns a Watch that Load fills in, and the request to pass to next.
func WithWatch(r *http.Request) (*Watch, *http.Request) {
	w := &Watch{}
	return w, r.WithContext(context.WithValue(r.Context(), watchKey{}, w))
}

// SetBody replaces the body that will be forwarded, e.g. after a redaction.
func SetBody(r *http.Request, body []byte) {
	r.Body = newBodyReader(body)
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	r.Header.Del("Transfer-Encoding")
	r.TransferEncoding = nil
	r.GetBody = func() (io.ReadCloser, error) { return newBodyReader(body), nil }
}

// bodyReader is an in-memory request body: one allocation, where
// io.NopCloser(bytes.NewReader(b)) takes two on every request.
type bodyReader struct{ bytes.Reader }

func newBodyReader(b []byte) *bodyReader {
	br := &bodyReader{}
	br.Reset(b)
	return br
}

// Close implements io.Closer; there is nothing to release.
func (*bodyReader) Close() error { return nil }

func methodNotAllowed(r *http.Request, allow string) *apierr.Error {
	return &apierr.Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
		Message: fmt.Sprintf("%s is not allowed on %s; use %s.", r.Method, r.URL.Path, allow),
		Header:  http.Header{"Allow": {allow}}}
}

// checkContentType accepts JSON bodies. A missing Content-Type is accepted, and so is
// curl's default for -d (application/x-www-form-urlencoded) when the body is JSON, because
// the OpenAI and Anthropic quickstarts are written with curl -d; anything else is refused
// rather than guessed at.
func checkContentType(r *http.Request) *apierr.Error {
	if enc := r.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		return &apierr.Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_content_encoding",
			Message: "Compressed request bodies are not accepted; send the JSON body uncompressed."}
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" || ct == "application/json" {
		return nil // the SDKs' header, accepted without parsing it
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "application/x-www-form-urlencoded") {
		return nil
	}
	return &apierr.Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
		Message: "Content-Type must be application/json."}
}

func readBody(r *http.Request, maxBody int64) ([]byte, *apierr.Error) {
	if maxBody <= 0 {
		maxBody = DefaultMaxBodySize
	}
	if r.ContentLength > maxBody {
		return nil, tooLarge(maxBody)
	}
	if r.Body == nil {
		return nil, nil
	}
	var body []byte
	var err error
	if cl := r.ContentLength; cl > 0 {
		// Sized from Content-Length (at most maxBody, checked above; net/http stops the
		// body there): one allocation, where io.ReadAll's doubling allocates some five
		// times a 32 KB body on every request. The spare MinRead keeps ReadFrom from
		// growing the buffer for its final read, the one that sees EOF.
		buf := bytes.NewBuffer(make([]byte, 0, cl+bytes.MinRead))
		_, err = buf.ReadFrom(io.LimitReader(r.Body, maxBody+1))
		body = buf.Bytes()
	} else {
		body, err = io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		// Caddy's request_body max_size, a tighter limit than ours.
		return nil, tooLarge(mbe.Limit)
	}
	if err != nil {
		return nil, apierr.BadRequest("", "invalid_request_error", "The request body could not be read completely.")
	}
	if int64(len(body)) > maxBody {
		return nil, tooLarge(maxBody)
	}
	return body, nil
}

// tooLarge is the refusal of a body over limit bytes; built only when one is refused,
// not on every request.
func tooLarge(limit int64) *apierr.Error {
	return &apierr.Error{Status: http.StatusRequestEntityTooLarge, Code: "request_too_large",
		Message: fmt.Sprintf("The request body is larger than the gateway's limit of %s; send a shorter prompt.", humanize.IBytes(uint64(limit)))}
}

// Provide publishes placeholders computed on read: fn answers them, and names are the
// fixed ones it answers. Caddy asks its static values before any provider, so a value an
// earlier handler Set under one of those names would shadow fn's; Provide drops them, as a
// Set in their place would have replaced them. A handler that Sets one later still wins.
func Provide(repl *caddy.Replacer, fn caddy.ReplacerFunc, names ...string) {
	for _, k := range names {
		repl.Delete(k)
	}
	repl.Map(fn)
}

// publish registers the {http.llm.*} request placeholders as one provider computed on
// read, instead of a Replacer.Set each: most requests read none of them (or a few, in the
// access log or the audit record), and each Set grows Caddy's map and boxes the value.
// The values are taken when the request is loaded, which is what a Set would have stored.
// The prompt is counted only if something reads its count (see Exchange.PromptCount).
func publish(r *http.Request, ex *exchange.Exchange) {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return
	}
	kind := ex.Kind
	if ex.Request == nil {
		Provide(repl, func(key string) (any, bool) {
			if key == PlaceholderEndpoint {
				return kind.String(), true
			}
			return nil, false
		}, PlaceholderEndpoint)
		return
	}
	model, stream, maxOut, exact := ex.Request.Model, ex.Request.Stream, ex.Request.MaxOutputTokens, ex.Tokens.Encoding.Exact
	Provide(repl, func(key string) (any, bool) {
		if !strings.HasPrefix(key, "http.llm.") {
			return nil, false // most reads of other placeholders pass here
		}
		switch key {
		case PlaceholderEndpoint:
			return kind.String(), true
		case PlaceholderModel:
			return model, true
		case PlaceholderStream:
			return stream, true
		case PlaceholderMaxOutput:
			return maxOut, true
		case PlaceholderTokensExact:
			return exact, true
		case PlaceholderPromptTokens:
			return ex.PromptCount(), true
		}
		return nil, false
	}, PlaceholderEndpoint, PlaceholderModel, PlaceholderStream, PlaceholderMaxOutput, PlaceholderTokensExact, PlaceholderPromptTokens)
}

// Fail sends e to the client in the shape of the API it called and records the code for
// access logs ({http.llm.error_code}). Handlers return the nil it returns instead of a
// caddyhttp.Error: Caddy's default error handling writes an empty body, and the SDKs need
// the JSON body to raise a useful error.
func Fail(w http.ResponseWriter, r *http.Request, e *apierr.Error) error {
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		code := e.Code
		if code == "" {
			code = strconv.Itoa(e.Status)
		}
		repl.Set(PlaceholderErrorCode, code)
	}
	apierr.Write(w, request.KindFromPath(r.URL.Path).Anthropic(), e)
	return nil
}

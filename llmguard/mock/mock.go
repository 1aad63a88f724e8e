// Package mock is a fake LLM upstream for demos and tests: it answers OpenAI chat
// completions, legacy completions, embeddings, Responses and model-list calls, and
// Anthropic Messages calls, in each API's exact wire format (JSON bodies, SSE streams,
// error shapes), with deterministic content and token usage counted the same way the
// gateway counts it. Request headers let a test choose the reply, simulate upstream
// errors and broken streams, or drop usage, so that every guard of the gateway can be
// exercised end to end without a real provider.
//
// It is a testing aid, not a model: it never generates anything meaningful, never calls
// the network, never records, stores or logs request content, and never panics or
// answers 500 on client input. It does not import Caddy; the llm_mock Caddy module is a
// thin wrapper around Server.
package mock

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/apierr"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/tokens"
)

// Defaults used for zero Config fields.
const (
	DefaultChunkSize           = 4
	DefaultEmbeddingDimensions = 8
	DefaultMaxBodySize         = 8 << 20
	// MaxEmbeddingDimensions bounds configured and requested vector sizes, so that one
	// request cannot make the mock allocate gigabytes.
	MaxEmbeddingDimensions = 65536
)

// DefaultModels are the model names GET /v1/models lists when Config.Models is empty.
var DefaultModels = []string{"gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5"}

// Request headers that steer a single response. Tests set them on the request they send
// through the gateway; a gateway under test normally forwards unknown headers.
const (
	// HeaderMode is "echo" or "fixed" and overrides Config.Mode for one request.
	HeaderMode = "X-Mock-Mode"
	// HeaderReply sets the exact reply text (before truncation to the output allowance).
	HeaderReply = "X-Mock-Reply"
	// HeaderStatus makes the mock answer with that HTTP error status (400–599) in the
	// API's error shape instead of a reply; 429 carries Retry-After.
	HeaderStatus = "X-Mock-Status"
	// HeaderStreamError is "after=N": a stream ends after N text deltas (after all of
	// them when the reply has fewer) with the API's mid-stream error event instead of
	// its normal end. Non-streamed requests ignore it.
	HeaderStreamError = "X-Mock-Stream-Error"
	// HeaderNoUsage "true" drops usage from bodies and streams.
	HeaderNoUsage = "X-Mock-No-Usage"
)

// Mode selects the default reply.
type Mode string

const (
	// ModeFixed replies with Config.Reply, or with a fixed sentence naming the model.
	ModeFixed Mode = "fixed"
	// ModeEcho replies with the text of the last user message.
	ModeEcho Mode = "echo"
)

// modelsCreated is the "created" time of listed models. Real APIs report when a model
// was published, which never changes; a constant keeps the listing deterministic.
const modelsCreated = 1735689600 // 2025-01-01T00:00:00Z

// Config configures a Server. The zero value is usable: every zero field takes its
// default.
type Config struct {
	// Models are listed by GET /v1/models. Requests may name any model; the list is not
	// an allow-list.
	Models []string
	// Mode is ModeFixed (default) or ModeEcho.
	Mode Mode
	// Reply is the fixed reply; empty means a sentence naming the requested model.
	Reply string
	// ChunkSize is the number of characters (Unicode code points) per streamed delta.
	ChunkSize int
	// ChunkDelay is the pause between streamed deltas.
	ChunkDelay time.Duration
	// EmbeddingDimensions is the default vector size of embeddings.
	EmbeddingDimensions int
	// MaxBodySize is the largest request body read, in bytes; larger bodies get 413.
	MaxBodySize int64
	// Now returns the current time for "created" fields; nil means time.Now. Tests
	// inject a fixed clock.
	Now func() time.Time
	// NewID returns the random part of response ids ("chatcmpl-"+NewID()); nil means 24
	// hex characters from crypto/rand. Tests inject a counter.
	NewID func() string
}

// Validate reports the first invalid field. It does not modify c.
func (c Config) Validate() error {
	switch c.Mode {
	case "", ModeFixed, ModeEcho:
	default:
		return fmt.Errorf("mode must be %q or %q, not %q", ModeFixed, ModeEcho, c.Mode)
	}
	for i, m := range c.Models {
		if strings.TrimSpace(m) == "" {
			return fmt.Errorf("models[%d] is empty", i)
		}
	}
	switch {
	case c.ChunkSize < 0:
		return fmt.Errorf("chunk_size must not be negative")
	case c.ChunkDelay < 0:
		return fmt.Errorf("chunk_delay must not be negative")
	case c.EmbeddingDimensions < 0 || c.EmbeddingDimensions > MaxEmbeddingDimensions:
		return fmt.Errorf("embedding_dimensions must be from 1 to %d", MaxEmbeddingDimensions)
	case c.MaxBodySize < 0:
		return fmt.Errorf("max_body_size must not be negative")
	}
	return nil
}

// Server answers LLM API calls. It is immutable after New and safe for concurrent use.
type Server struct {
	cfg Config
}

// New validates cfg, fills in defaults and loads the tokenizers, so that a bad config or
// a broken tokenizer shows at start-up rather than as an error on the first request.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(cfg.Models) == 0 {
		cfg.Models = DefaultModels
	}
	cfg.Models = append([]string(nil), cfg.Models...)
	if cfg.Mode == "" {
		cfg.Mode = ModeFixed
	}
	if cfg.ChunkSize == 0 {
		cfg.ChunkSize = DefaultChunkSize
	}
	if cfg.EmbeddingDimensions == 0 {
		cfg.EmbeddingDimensions = DefaultEmbeddingDimensions
	}
	if cfg.MaxBodySize == 0 {
		cfg.MaxBodySize = DefaultMaxBodySize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = randomID
	}
	for _, enc := range []string{tokens.CL100K, tokens.O200K} {
		if _, err := tokens.Get(enc); err != nil {
			return nil, fmt.Errorf("loading tokenizer %s: %v", enc, err)
		}
	}
	return &Server{cfg: cfg}, nil
}

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// call is one request being answered.
type call struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	req   *request.Request
	tok   *tokens.Model
	now   int64
	usage bool // false when X-Mock-No-Usage asks to drop usage
	// streamErrAfter is the number of deltas after which a stream fails; -1 for never.
	streamErrAfter int
	prompt         int64 // memo of promptTokens; -1 until counted
}

// promptTokens counts the request's prompt tokens exactly as the gateway does, once:
// some streams report them twice, and counting a long prompt is not free.
func (c *call) promptTokens() int64 {
	if c.prompt < 0 {
		c.prompt = c.tok.Prompt(c.req)
	}
	return c.prompt
}

// ServeHTTP answers one API call. Every outcome, including client mistakes, is a
// response in the shape of the API the client called: the clients are SDKs that cannot
// read Caddy's HTML or plain-text error pages.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Not an LLM endpoint the gateway parses, so not a request.Kind: the stand-in
	// classifier for the moderation examples and tests.
	if strings.HasSuffix(strings.TrimRight(r.URL.Path, "/"), "/moderations") {
		s.moderations(w, r)
		return
	}
	kind := request.KindFromPath(r.URL.Path)
	anthropic := kind.Anthropic()
	if kind == request.KindUnknown {
		apierr.Write(w, false, &apierr.Error{Status: http.StatusNotFound, Code: "unknown_url",
			Message: fmt.Sprintf("Unknown request URL: %s %s.", r.Method, truncate(r.URL.Path, 200))})
		return
	}
	want := http.MethodPost
	if kind == request.KindModels {
		want = http.MethodGet
	}
	if r.Method != want {
		// OpenAI-shaped on every path: a wrong method is a routing mistake made before
		// any API was really called, and every SDK prints this shape's message.
		apierr.Write(w, false, &apierr.Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
			Header:  http.Header{"Allow": {want}},
			Message: fmt.Sprintf("%s %s is not allowed; use %s.", r.Method, truncate(r.URL.Path, 200), want)})
		return
	}
	if e := simulatedStatus(r.Header.Get(HeaderStatus)); e != nil {
		apierr.Write(w, anthropic, e)
		return
	}
	if kind == request.KindModels {
		s.models(w)
		return
	}
	body, e := s.readBody(r)
	if e != nil {
		apierr.Write(w, anthropic, e)
		return
	}
	req, err := request.Parse(kind, body)
	if err != nil {
		var re *request.Error
		if errors.As(err, &re) {
			apierr.Write(w, anthropic, apierr.BadRequest(re.Param, "", re.Message))
		} else {
			apierr.Write(w, anthropic, apierr.BadRequest("", "", "the request body could not be parsed"))
		}
		return
	}
	tok, err := tokens.ForModel(req.Model)
	if err != nil { // unreachable after New loaded both encodings; answered, not panicked
		apierr.Write(w, anthropic, apierr.New(http.StatusServiceUnavailable, "tokenizer_unavailable", "the mock could not load a tokenizer"))
		return
	}
	c := &call{s: s, w: w, r: r, req: req, tok: tok, now: s.cfg.Now().Unix(), usage: true, streamErrAfter: -1, prompt: -1}
	if e := c.readHeaders(); e != nil {
		apierr.Write(w, anthropic, e)
		return
	}
	switch kind {
	case request.KindChat:
		c.chat()
	case request.KindCompletions:
		c.completions()
	case request.KindEmbeddings:
		c.embeddings(body)
	case request.KindResponses:
		c.responses()
	case request.KindMessages:
		c.messages()
	}
}

// readBody reads at most MaxBodySize bytes; a longer body is refused rather than read,
// so that a mock in a shared test environment cannot be made to hold arbitrary memory.
func (s *Server) readBody(r *http.Request) ([]byte, *apierr.Error) {
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxBodySize+1))
	if err != nil {
		return nil, apierr.BadRequest("", "", "the request body could not be read")
	}
	if int64(len(body)) > s.cfg.MaxBodySize {
		return nil, apierr.New(http.StatusRequestEntityTooLarge, "request_too_large",
			fmt.Sprintf("the request body is larger than %d bytes", s.cfg.MaxBodySize))
	}
	return body, nil
}

// simulatedStatus turns X-Mock-Status into the error to send, or nil when absent.
func simulatedStatus(v string) *apierr.Error {
	if v == "" {
		return nil
	}
	code, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || code < 400 || code > 599 {
		return apierr.BadRequest("", "invalid_mock_header", HeaderStatus+" must be an HTTP status from 400 to 599")
	}
	e := &apierr.Error{Status: code, Message: fmt.Sprintf("llm_mock: simulated %d error (%s)", code, HeaderStatus)}
	switch code {
	case http.StatusTooManyRequests:
		e.Code = "rate_limit_exceeded"
		e.RetryAfter = time.Second
	case http.StatusInternalServerError:
		e.Code = "server_error"
	case http.StatusServiceUnavailable, 529:
		e.Code = "overloaded"
	}
	return e
}

// readHeaders applies the per-request steering headers that need the parsed request.
func (c *call) readHeaders() *apierr.Error {
	h := c.r.Header
	if v := strings.TrimSpace(h.Get(HeaderNoUsage)); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return apierr.BadRequest("", "invalid_mock_header", HeaderNoUsage+" must be true or false")
		}
		c.usage = !b
	}
	if v := strings.TrimSpace(h.Get(HeaderMode)); v != "" && Mode(v) != ModeEcho && Mode(v) != ModeFixed {
		return apierr.BadRequest("", "invalid_mock_header", HeaderMode+" must be echo or fixed")
	}
	if v := strings.TrimSpace(h.Get(HeaderStreamError)); v != "" {
		n, ok := strings.CutPrefix(v, "after=")
		after, err := strconv.Atoi(n)
		if !ok || err != nil || after < 0 {
			return apierr.BadRequest("", "invalid_mock_header", HeaderStreamError+" must be after=N with N >= 0")
		}
		c.streamErrAfter = after
	}
	return nil
}

// models answers GET /v1/models in OpenAI's list format.
func (s *Server) models(w http.ResponseWriter) {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	list := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list", Data: make([]model, 0, len(s.cfg.Models))}
	for _, m := range s.cfg.Models {
		list.Data = append(list.Data, model{ID: m, Object: "model", Created: modelsCreated, OwnedBy: "llm_mock"})
	}
	writeJSON(w, list)
}

// id returns a response id with the API's prefix.
func (c *call) id(prefix string) string { return prefix + c.s.cfg.NewID() }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

package llmhttp

import (
	"bytes"
	"context"
	"errors"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/sse"
	"github.com/llmguard/caddy-llmguard/llmguard/usage"
)

// DefaultTapBodyCap bounds the part of a JSON (non-streamed) response a Tap keeps to read
// its usage. Completion bodies are far smaller; a larger body is still forwarded whole,
// only its usage is then unknown.
const DefaultTapBodyCap = 4 << 20

// ErrStreamCut is returned by Tap.Write once a hook has ended the stream: the proxy stops
// copying and closes the upstream connection, so the upstream stops generating.
var ErrStreamCut = errors.New("llmguard: stream ended by the gateway")

// Hook sees every complete event of a streamed response after the usage tap observed it.
// out holds the bytes that will be forwarded for it so far (ev.Raw, or what an earlier
// hook made of it); the hook returns the bytes to forward instead (nil drops the event).
// end = true makes these bytes the last of the response (a hook that cuts the stream
// appends its error event). ev is only valid during the call.
type Hook func(ev *sse.Event, out []byte) (newOut []byte, end bool)

// Tap watches the response of one LLM call, once, for every llm_* handler that needs it
// (usage for llm_rate_limit, content for llm_filter). It passes status, headers and body
// through, streams incrementally (an SSE stream is forwarded event by event, holding back
// at most the unfinished event, bounded by sse.DefaultMaxEventSize), and keeps at most
// DefaultTapBodyCap of a JSON body.
//
// Compressed responses are not parsed: InstallTap asks the upstream for an identity
// encoding by removing Accept-Encoding from the proxied request (the client side can
// still be compressed by Caddy's encode directive, which runs outside the tap). If an
// upstream compresses anyway, the usage is reported unknown and callers fall back to
// what they reserved.
type Tap struct {
	http.ResponseWriter
	ex *exchange.Exchange

	status      int
	wroteHeader bool
	mode        tapMode
	parser      sse.Parser
	usage       *usage.Tap
	body        []byte
	bodyCap     int
	// jsonUsage (and jsonText, the reply's generated text) caches Usage for a JSON body
	// of jsonUsageLen bytes: llm_rate_limit and llm_audit both ask for it after the
	// response, and each answer is a full decode.
	jsonUsage     usage.Usage
	jsonReported  bool
	jsonText      string
	jsonUsageLen  int
	jsonUsageDone bool
	overflow      bool
	broken        bool // the SSE parser gave up; bytes pass through unparsed
	ended         bool
	hooks         []Hook
	headerHooks   []func(status int, h http.Header)
	closers       []func() []byte
	closed        bool
	out           []byte // one Write's forwarded bytes (a pooled buffer, see feed)
	inThisFeed    int
}

type tapMode uint8

const (
	modeUnknown tapMode = iota
	modeSSE
	modeJSON
	modeOther
)

type tapKey struct{}

// InstallTap returns the request's Tap, installing it around w on first use. The returned
// writer and request must be passed to next. Later calls (by handlers further down the
// route) get the same Tap and w unchanged.
func InstallTap(w http.ResponseWriter, r *http.Request) (*Tap, http.ResponseWriter, *http.Request) {
	if t, ok := r.Context().Value(tapKey{}).(*Tap); ok {
		return t, w, r
	}
	t := &Tap{ResponseWriter: w, ex: exchange.FromContext(r.Context()), bodyCap: DefaultTapBodyCap}
	r.Header.Del("Accept-Encoding")
	return t, t, r.WithContext(context.WithValue(r.Context(), tapKey{}, t))
}

// TapFromRequest returns the Tap installed for r, or nil.
func TapFromRequest(r *http.Request) *Tap {
	t, _ := r.Context().Value(tapKey{}).(*Tap)
	return t
}

// AddHook adds an event hook; hooks run in the order added.
func (t *Tap) AddHook(h Hook) { t.hooks = append(t.hooks, h) }

// OnHeader adds a function called just before the response header is written, e.g. to
// replace an upstream's rate-limit headers with the gateway's.
func (t *Tap) OnHeader(f func(status int, h http.Header)) { t.headerHooks = append(t.headerHooks, f) }

// OnClose adds a function called once when a streamed response ends (Close), unless a
// hook ended it; the bytes it returns are forwarded last. llm_filter uses it to release
// text it held back when the upstream ends a stream without a final event.
func (t *Tap) OnClose(f func() []byte) { t.closers = append(t.closers, f) }

// Status returns the response status, 0 if none was written.
func (t *Tap) Status() int { return t.status }

// Streamed reports whether the response is an SSE stream.
func (t *Tap) Streamed() bool { return t.mode == modeSSE }

// Ended reports whether a hook ended the stream.
func (t *Tap) Ended() bool { return t.ended }

// StreamUsage returns the stream's usage tap (nil for non-streamed responses).
func (t *Tap) StreamUsage() *usage.Tap { return t.usage }

// WriteHeader implements http.ResponseWriter.
func (t *Tap) WriteHeader(status int) {
	if t.wroteHeader {
		return
	}
	if status < 200 { // informational: passes through, the real header follows
		t.ResponseWriter.WriteHeader(status)
		return
	}
	t.wroteHeader, t.status = true, status
	h := t.Header()
	if enc := h.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		t.mode = modeOther
	} else if mt, _, _ := mime.ParseMediaType(h.Get("Content-Type")); mt == "text/event-stream" {
		t.mode = modeSSE
		kind := request.KindChat
		if t.ex != nil {
			kind = t.ex.Kind
		}
		t.usage = usage.NewTap(kind)
		if t.ex != nil && t.ex.Tokens != nil {
			t.usage.SetCounter(t.ex.Tokens.Count)
		}
	} else if mt == "application/json" || strings.HasSuffix(mt, "+json") {
		t.mode = modeJSON
	} else {
		t.mode = modeOther
	}
	for _, f := range t.headerHooks {
		f(status, h)
	}
	if t.mode == modeSSE && len(t.hooks) > 0 {
		// Hooks may change the body's length.
		h.Del("Content-Length")
	}
	t.ResponseWriter.WriteHeader(status)
}

// Write implements http.ResponseWriter.
func (t *Tap) Write(p []byte) (int, error) {
	if t.ended {
		return 0, ErrStreamCut
	}
	if !t.wroteHeader {
		t.WriteHeader(http.StatusOK)
	}
	switch t.mode {
	case modeSSE:
		if !t.broken {
			return t.feed(p)
		}
	case modeJSON:
		if len(t.body)+len(p) > t.bodyCap {
			t.overflow = true
		}
		if n := min(len(p), t.bodyCap-len(t.body)); n > 0 {
			t.body = append(t.body, p[:n]...)
		}
	}
	return t.ResponseWriter.Write(p)
}

// outPool holds the buffers feed assembles forwarded bytes in; one larger than
// maxPooledOut (a huge event) is left to the collector.
var outPool = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledOut = 64 << 10

// feed parses p and forwards the bytes of the events it completes.
func (t *Tap) feed(p []byte) (int, error) {
	prev := t.parser.Pending()
	// The forwarded bytes are assembled in a pooled buffer that goes back when this write
	// is done, so a held stream keeps no buffer between its events.
	bp := outPool.Get().(*[]byte)
	t.out, t.inThisFeed = (*bp)[:0], 0
	defer func() {
		if cap(t.out) <= maxPooledOut {
			*bp = t.out[:0]
			outPool.Put(bp)
		}
		t.out = nil
	}()
	err := t.parser.Feed(p, t.emit)
	if err != nil && !t.ended {
		// An event larger than the parser's bound: stop parsing and pass the rest through.
		// Everything fed and not yet emitted is forwarded as is (emitted Raw values plus
		// the unfinished remainder always add up to the input).
		t.broken = true
		if t.inThisFeed < len(prev) {
			t.out = append(t.out, prev[t.inThisFeed:]...)
			t.out = append(t.out, p...)
		} else {
			t.out = append(t.out, p[t.inThisFeed-len(prev):]...)
		}
	}
	if len(t.out) > 0 {
		if _, werr := t.ResponseWriter.Write(t.out); werr != nil {
			return 0, werr
		}
	}
	if t.ended {
		_ = t.FlushError()
		return 0, ErrStreamCut
	}
	return len(p), nil
}

func (t *Tap) emit(ev *sse.Event) error {
	t.inThisFeed += len(ev.Raw)
	t.usage.Observe(ev)
	out := ev.Raw
	for _, h := range t.hooks {
		var end bool
		if out, end = h(ev, out); end {
			t.ended = true
			break
		}
	}
	t.out = append(t.out, out...)
	if t.ended {
		return ErrStreamCut
	}
	return nil
}

// Close forwards a trailing unfinished event (a stream that ended without its final blank
// line) and then what the OnClose functions return, after the upstream is done. Handlers
// call it after next returns; it is idempotent.
func (t *Tap) Close() {
	if t.mode != modeSSE || t.closed || t.ended {
		return
	}
	t.closed = true
	t.out, t.inThisFeed = t.out[:0], 0
	if !t.broken {
		_ = t.parser.Flush(t.emit)
	}
	for _, f := range t.closers {
		if t.ended {
			break
		}
		t.out = append(t.out, f()...)
	}
	if len(t.out) > 0 {
		_, _ = t.ResponseWriter.Write(t.out)
		_ = t.FlushError()
	}
	t.broken = true // nothing more to parse
}

// Usage returns the response's token usage: the upstream's when it reported it (reported
// = true), else the prompt count of the exchange plus a count of the generated text. ok is
// false when the usage cannot be known: no LLM response body was seen (non-2xx, other
// content types), a compressed body, or a JSON body beyond the cap.
func (t *Tap) Usage() (u usage.Usage, reported, ok bool) {
	var count func(string) int
	kind := request.KindChat
	// The prompt is counted only when the upstream's usage does not say (PromptCount).
	prompt := func() int64 { return 0 }
	if t.ex != nil {
		prompt, kind = t.ex.PromptCount, t.ex.Kind
		if t.ex.Tokens != nil {
			count = t.ex.Tokens.Count
		}
	}
	switch t.mode {
	case modeSSE:
		u, reported = t.usage.Finish(prompt(), count)
		return u, reported, true
	case modeJSON:
		if t.overflow {
			return u, false, false
		}
		if t.jsonUsageDone && t.jsonUsageLen == len(t.body) {
			return t.jsonUsage, t.jsonReported, true
		}
		var text string
		if u, reported, text = usage.Reply(kind, t.body); !reported {
			u = usage.Usage{InputTokens: prompt()}
			if count != nil {
				u.OutputTokens = int64(count(text))
			} else {
				u.OutputTokens = int64((len(text) + 3) / 4)
			}
		}
		t.jsonUsage, t.jsonReported, t.jsonText, t.jsonUsageLen, t.jsonUsageDone = u, reported, text, len(t.body), true
		return u, reported, true
	}
	return u, false, false
}

// OutputText returns the generated text of a JSON reply (usage.OutputText of the kept
// body), decoded once with its usage; "" for streams and other responses.
func (t *Tap) OutputText() string {
	if t.mode != modeJSON {
		return ""
	}
	if _, _, ok := t.Usage(); !ok {
		return "" // beyond the cap: not all of the text was kept
	}
	return t.jsonText
}

// FlushError flushes the underlying writer. Flush is what the proxy calls for streams.
func (t *Tap) FlushError() error {
	if !t.wroteHeader {
		return nil // the header waits for WriteHeader, so that hooks still see it
	}
	//nolint:bodyclose
	return http.NewResponseController(t.ResponseWriter).Flush()
}

// Flush implements http.Flusher.
func (t *Tap) Flush() { _ = t.FlushError() }

// Unwrap returns the underlying ResponseWriter, for http.ResponseController.
func (t *Tap) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// JSONBody returns the kept part of a JSON response body (nil for other responses).
func (t *Tap) JSONBody() []byte {
	if t.mode != modeJSON {
		return nil
	}
	return bytes.Clone(t.body)
}

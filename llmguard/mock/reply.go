package mock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/llmguard/caddy-llmguard/llmguard/apierr"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/sse"
	"github.com/llmguard/caddy-llmguard/llmguard/tokens"
)

// maxOutputBytes bounds the text one response may carry (reply length times choices).
// Echo mode with n=128 and an 8 MiB prompt would otherwise build a gigabyte of JSON.
const maxOutputBytes = 64 << 20

// reply is the text generated for one choice, already cut to the output allowance.
type reply struct {
	Text string
	// Tokens is the token count of Text for the requested model: the completion tokens
	// of one choice.
	Tokens int64
	// Truncated is set when the allowance cut the text (finish_reason "length").
	Truncated bool
}

// reply chooses and cuts the reply: X-Mock-Reply wins, then the mode (X-Mock-Mode over
// Config.Mode).
func (c *call) reply() reply {
	return cut(c.tok, c.replyText(), c.req.MaxOutputTokens)
}

func (c *call) replyText() string {
	// Values, not Get: an explicitly empty X-Mock-Reply asks for an empty reply.
	if vs := c.r.Header.Values(HeaderReply); len(vs) > 0 {
		return vs[0]
	}
	mode := c.s.cfg.Mode
	if v := strings.TrimSpace(c.r.Header.Get(HeaderMode)); v != "" {
		mode = Mode(v)
	}
	if mode == ModeEcho {
		return lastUserText(c.req)
	}
	if c.s.cfg.Reply != "" {
		return c.s.cfg.Reply
	}
	return "This is a mock reply from llm_mock for " + c.req.Model + "; it is a testing aid, not a model."
}

// lastUserText joins the text parts of the last user message (for embeddings and legacy
// completions: the last input), so echo tests see exactly what reached the upstream.
// Text of documents the user attached counts as the user's.
func lastUserText(r *request.Request) string {
	user := func(s request.Segment) bool {
		return s.Role == "user" && (s.Source == request.SourceContent || s.Source == request.SourceDocument)
	}
	last := -1
	for _, s := range r.Segments {
		if user(s) && s.Message > last {
			last = s.Message
		}
	}
	var parts []string
	for _, s := range r.Segments {
		if s.Message == last && user(s) {
			parts = append(parts, s.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// maxTokenBytes bounds the bytes of one token in the tiktoken vocabularies (their
// longest tokens are a few dozen bytes), so a text that fits max tokens is at most
// max*maxTokenBytes bytes long. cut searches only that far: the BPE counter is
// quadratic on long unbroken runs, and counting a megabyte echo to keep five tokens of
// it would take seconds.
const maxTokenBytes = 1024

// cut returns the longest prefix of text whose token count fits max (0 means no limit).
// Whole words are kept first; the next word is then filled character by character, so
// that a small allowance still yields text, as a real model's partial answer would. The
// searches are binary because every probe counts tokens from the start; token counts of
// growing prefixes do not decrease, and every accepted prefix is checked against max, so
// the result always fits.
func cut(m *tokens.Model, text string, max int64) reply {
	if max <= 0 {
		return reply{Text: text, Tokens: int64(m.Count(text))}
	}
	if limit := max * maxTokenBytes; int64(len(text)) > limit {
		// Longer than any fitting prefix: truncated for sure; search the head only.
		end := int(limit)
		for end > 0 && !utf8.RuneStart(text[end]) {
			end--
		}
		return search(m, text[:end], max)
	}
	if n := int64(m.Count(text)); n <= max {
		return reply{Text: text, Tokens: n}
	}
	return search(m, text, max)
}

// search finds the longest prefix of text that fits max tokens; text itself may fit.
func search(m *tokens.Model, text string, max int64) reply {
	fits := func(s string) bool { return int64(m.Count(s)) <= max }
	ends := wordEnds(text)
	lo, hi := 0, len(ends) // number of whole words kept
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if fits(text[:ends[mid-1]]) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if lo == len(ends) {
		return reply{Text: text, Tokens: int64(m.Count(text)), Truncated: true}
	}
	start := 0
	if lo > 0 {
		start = ends[lo-1]
	}
	// The next word does not fit whole; keep as many of its characters as fit.
	var cuts []int
	for i := range text[start:ends[lo]] {
		if i > 0 {
			cuts = append(cuts, start+i)
		}
	}
	a, b := 0, len(cuts)
	for a < b {
		mid := (a + b + 1) / 2
		if fits(text[:cuts[mid-1]]) {
			a = mid
		} else {
			b = mid - 1
		}
	}
	out := text[:start]
	if a > 0 {
		out = text[:cuts[a-1]]
	}
	return reply{Text: out, Tokens: int64(m.Count(out)), Truncated: true}
}

// wordEnds returns the byte offsets at which each word (leading white space plus a run
// of non-space characters) of text ends; trailing white space ends a last "word".
func wordEnds(text string) []int {
	var ends []int
	inWord := false
	for i, r := range text {
		sp := unicode.IsSpace(r)
		if inWord && sp {
			ends = append(ends, i)
		}
		inWord = !sp
	}
	if len(text) > 0 && (len(ends) == 0 || ends[len(ends)-1] != len(text)) {
		ends = append(ends, len(text))
	}
	return ends
}

// chunks splits text into deltas of size characters (code points), never splitting a
// UTF-8 sequence. An empty text has no deltas.
func chunks(text string, size int) []string {
	var out []string
	for len(text) > 0 {
		end, n := 0, 0
		for end < len(text) && n < size {
			_, w := utf8.DecodeRuneInString(text[end:])
			end += w
			n++
		}
		out = append(out, text[:end])
		text = text[end:]
	}
	return out
}

// tooLarge guards maxOutputBytes.
func tooLarge(rep reply, n int) *apierr.Error {
	if int64(len(rep.Text))*int64(n) <= maxOutputBytes {
		return nil
	}
	return apierr.BadRequest("n", "", "llm_mock will not generate more than "+strconv.Itoa(maxOutputBytes)+" bytes of text for one request")
}

// marshal encodes v without HTML escaping, so replies read in the body as they were set.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the response types hold only strings, numbers and slices
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// jsonNull is written where an API sends an explicit null (e.g. "usage":null on stream
// chunks), which a nil pointer with omitempty could not express.
var jsonNull = json.RawMessage("null")

func writeJSON(w http.ResponseWriter, v any) {
	body := marshal(v)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// stream writes SSE events, flushing each so that clients (and the gateway's stream
// guards) see deltas as they would from a real upstream.
type stream struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	ctx   context.Context
	delay time.Duration
	buf   []byte
	ok    bool
}

func (c *call) startStream() *stream {
	h := c.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	c.w.WriteHeader(http.StatusOK)
	st := &stream{w: c.w, rc: http.NewResponseController(c.w), ctx: c.r.Context(), delay: c.s.cfg.ChunkDelay, ok: true}
	st.flush()
	return st
}

// send writes one event with a JSON payload; name "" writes a data-only event (OpenAI
// chat and completions streams). It reports false once the client is gone, after which
// nothing more is written.
func (st *stream) send(name string, v any) bool {
	if !st.alive() {
		return false
	}
	st.buf = sse.AppendEvent(st.buf[:0], &sse.Event{Name: name, Data: marshal(v), Retry: -1})
	return st.write(st.buf)
}

// raw writes pre-framed event bytes.
func (st *stream) raw(b []byte) bool {
	if !st.alive() {
		return false
	}
	return st.write(b)
}

func (st *stream) write(b []byte) bool {
	if _, err := st.w.Write(b); err != nil {
		st.ok = false
		return false
	}
	st.flush()
	return st.ok
}

func (st *stream) flush() {
	// A writer that cannot flush still gets the whole stream, just not incrementally.
	if err := st.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		st.ok = false
	}
}

func (st *stream) alive() bool {
	if st.ok && st.ctx.Err() != nil {
		st.ok = false
	}
	return st.ok
}

// pause waits ChunkDelay before a delta, returning false early if the client goes away,
// so a cancelled slow stream stops at once instead of running to its end.
func (st *stream) pause() bool {
	if st.delay <= 0 {
		return st.alive()
	}
	t := time.NewTimer(st.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return st.alive()
	case <-st.ctx.Done():
		st.ok = false
		return false
	}
}

// failNow reports whether the X-Mock-Stream-Error point is reached after sent deltas.
func (c *call) failNow(sent int) bool {
	return c.streamErrAfter >= 0 && sent >= c.streamErrAfter
}

// failing reports whether X-Mock-Stream-Error is set. Checked after the last delta, it
// makes the stream fail even when the reply has fewer deltas than N, so that a test of
// mid-stream errors does not silently pass on a short reply.
func (c *call) failing() bool { return c.streamErrAfter >= 0 }

// midStreamError is the error that ends a stream under X-Mock-Stream-Error.
func midStreamError(anthropic bool) *apierr.Error {
	if anthropic {
		return apierr.New(529, "", "Overloaded (llm_mock: simulated mid-stream error)")
	}
	return apierr.New(http.StatusInternalServerError, "server_error", "llm_mock: simulated mid-stream error")
}

func finishReason(rep reply) string {
	if rep.Truncated {
		return "length"
	}
	return "stop"
}

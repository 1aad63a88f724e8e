package llmhttp

import (
	"bytes"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/llmguard/caddy-llmguard/llmguard/apierr"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
)

// Guard answers a panic in the handler chain from the first llm_* handler of a request
// onwards — in our handlers, in reverse_proxy or in anything else after them — in the
// API's error shape instead of the reset connection net/http leaves (Caddy v2.11.9
// recovers no handler panic; net/http logs the panic value with a raw stack and drops the
// connection, which the SDKs report as a network error and retry blindly).
//
// Only the first llm_* handler of a request installs a Guard (Protect returns nil to the
// others), so there is one recovery point and one wrapper per request. Handlers that must
// account for every request (llm_rate_limit settling a reservation, llm_audit writing its
// record) do so in their own deferred functions and re-panic; the Guard, deferred first by
// the outermost handler, runs last.
type Guard struct {
	http.ResponseWriter
	r      *http.Request
	logger *zap.Logger
	// wrote: a final status went to the client, so a new one cannot be sent.
	wrote bool
	// sse: that status began an event stream; boundary: the bytes written so far end
	// with a complete event, so one more event can follow them cleanly.
	sse, boundary bool
}

// guardVar marks a guarded request in Caddy's request variables (a map already in the
// context), which costs no request copy; outside Caddy (no variables) every handler
// guards, and the innermost Guard answers.
const guardVar = "llmguard.guard"

// Protect returns the Guard for the request if no outer llm_* handler installed one, with
// the writer to pass on; otherwise a nil Guard and w unchanged. The caller defers
// g.Recover(&err) (a nil Guard's Recover does nothing, so the panic travels on to the
// Guard that owns the request):
//
//	g, w := llmhttp.Protect(w, r, h.logger)
//	defer g.Recover(&err)
func Protect(w http.ResponseWriter, r *http.Request, logger *zap.Logger) (*Guard, http.ResponseWriter) {
	if caddyhttp.GetVar(r.Context(), guardVar) != nil {
		return nil, w
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	g := &Guard{ResponseWriter: w, r: r, logger: logger}
	caddyhttp.SetVar(r.Context(), guardVar, true)
	return g, g
}

// WriteHeader implements http.ResponseWriter.
func (g *Guard) WriteHeader(status int) {
	if status >= 200 && !g.wrote {
		g.wrote = true
		g.sse = strings.HasPrefix(g.Header().Get("Content-Type"), "text/event-stream")
		g.boundary = true
	}
	g.ResponseWriter.WriteHeader(status)
}

// Write implements http.ResponseWriter.
func (g *Guard) Write(p []byte) (int, error) {
	if !g.wrote {
		g.WriteHeader(http.StatusOK)
	}
	n, err := g.ResponseWriter.Write(p)
	if n > 0 {
		g.boundary = endsEvent(p[:n])
	}
	return n, err
}

// endsEvent reports whether p ends with the blank line that closes an SSE event. A write
// shorter than the terminator is not trusted to be at a boundary.
func endsEvent(p []byte) bool {
	return bytes.HasSuffix(p, []byte("\n\n")) || bytes.HasSuffix(p, []byte("\r\n\r\n"))
}

// FlushError flushes, which also commits the status (200 if none was written).
func (g *Guard) FlushError() error {
	if !g.wrote {
		g.WriteHeader(http.StatusOK)
	}
	return http.NewResponseController(g.ResponseWriter).Flush()
}

// Flush implements http.Flusher.
func (g *Guard) Flush() { _ = g.FlushError() }

// Unwrap lets http.ResponseController reach the connection (deadlines, hijacking).
func (g *Guard) Unwrap() http.ResponseWriter { return g.ResponseWriter }

// Recover, deferred by the handler that got g from Protect, turns a panic into the
// client's answer and *err into nil:
//   - nothing sent yet: 500 internal_error in the API's shape, with the request id
//     ({http.request.uuid}, also in the log entry and the audit record) in the message
//     and in the request-id header of the API (x-request-id, request-id on /v1/messages);
//   - an event stream under way, at an event boundary: the stream ends with an error
//     event, which the SDKs raise;
//   - anything else under way: the connection is aborted (http.ErrAbortHandler), since a
//     second status or a JSON error spliced into a body would be read as data.
//
// http.ErrAbortHandler itself (reverse_proxy aborting a broken upstream response) passes
// through untouched. The log entry names the request id, the panic's kind and the stack's
// functions and lines, never the panic's value: a value built with fmt can quote a key or
// a prompt, and a raw stack trace carries argument words.
func (g *Guard) Recover(err *error) {
	if g == nil {
		return
	}
	rec := recover()
	if rec == nil {
		return
	}
	if rec == http.ErrAbortHandler {
		panic(rec)
	}
	id := requestID(g.r)
	anthropic := request.KindFromPath(g.r.URL.Path).Anthropic()
	answer := "500 internal_error"
	switch {
	case !g.wrote:
	case g.sse && g.boundary:
		answer = "stream error event"
	default:
		answer = "connection aborted"
	}
	if c := g.logger.Check(zap.ErrorLevel, "handler panicked"); c != nil {
		c.Write(zap.String("request_id", id), zap.String("panic", panicKind(rec)),
			zap.String("answer", answer), zap.Strings("stack", stackFrames()))
	}
	e := apierr.Internal(id)
	switch {
	case !g.wrote:
		e.Header = http.Header{}
		if anthropic {
			e.Header.Set("request-id", id)
		} else {
			e.Header.Set("x-request-id", id)
		}
		_ = Fail(g.ResponseWriter, g.r, e)
	case g.sse && g.boundary:
		_, _ = g.ResponseWriter.Write(e.SSE(anthropic))
		_ = http.NewResponseController(g.ResponseWriter).Flush()
	default:
		panic(http.ErrAbortHandler)
	}
	*err = nil
}

func requestID(r *http.Request) string {
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		if id, _ := repl.GetString("http.request.uuid"); id != "" {
			return id
		}
	}
	return "unknown"
}

// panicKind describes a panic value without its text unless the Go runtime wrote it
// (index out of range, nil map write, failed type assertion …: indices and type names,
// no data).
func panicKind(rec any) string {
	if re, ok := rec.(runtime.Error); ok {
		return re.Error()
	}
	return fmt.Sprintf("panic(%T)", rec)
}

// stackFrames lists the panicking goroutine's frames below the panic, as function and
// file:line.
func stackFrames() []string {
	pcs := make([]uintptr, 48)
	n := runtime.Callers(3, pcs) // runtime.Callers, stackFrames, Recover
	frames := runtime.CallersFrames(pcs[:n])
	var out []string
	for {
		f, more := frames.Next()
		if f.Function != "runtime.gopanic" && !strings.HasPrefix(f.Function, "runtime.panic") {
			out = append(out, f.Function+" "+f.File+":"+strconv.Itoa(f.Line))
		}
		if !more {
			return out
		}
	}
}

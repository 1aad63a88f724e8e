// Package sse is an incremental reader and writer for Server-Sent Events
// (text/event-stream), the framing OpenAI-compatible and Anthropic APIs use for
// streamed responses.
//
// The Parser follows the WHATWG HTML "server-sent events" parsing rules: LF, CR and
// CRLF line endings (also when a CRLF pair is split across two chunks), comment lines
// starting with ':', several data lines joined with "\n", one optional space after the
// colon, fields without a colon, and a leading UTF-8 BOM. It is fed arbitrary chunks
// (down to single bytes) and reports every complete event together with the exact bytes
// it was made of, so a proxy can inspect a stream and still forward it unmodified.
//
// What the package must never do:
//   - buffer without bound: an event larger than Parser.MaxEventSize is an error
//     (ErrEventTooLarge), not a reason to keep reading into memory;
//   - alter the bytes it hands back as Event.Raw or Parser.Pending: the concatenation of
//     all Raw values followed by Pending is always exactly the input;
//   - decode, validate or repair payloads (JSON, UTF-8): that is the caller's business;
//   - panic on any input;
//   - depend on Caddy or on any HTTP type: it works on byte slices only.
package sse

import (
	"bytes"
	"errors"
	"strconv"
)

// DefaultMaxEventSize is the event size limit used when Parser.MaxEventSize is zero or
// negative. The largest events of LLM streams are the final Responses API events, which
// repeat the whole response (all output text, tool definitions, instructions); 4 MiB
// leaves room for long answers while keeping a misbehaving upstream from growing a
// gateway's memory without bound.
const DefaultMaxEventSize = 4 << 20

// ErrEventTooLarge is returned by Feed when the bytes of a single event (all its lines,
// including comments and the unfinished tail) exceed the parser's MaxEventSize.
var ErrEventTooLarge = errors.New("sse: event exceeds the maximum event size")

// Event is one block of an event stream: the lines up to and including the blank line
// that ended it.
//
// The Parser reuses one Event and its buffers: an *Event passed to the emit callback,
// and every slice it holds, is only valid until the callback returns. Use Clone to keep
// one. To build an event for AppendEvent, use NewEvent or set Retry to -1.
type Event struct {
	// Name is the value of the last "event:" field; "" means the default type "message".
	Name string
	// Data is the value of all "data:" fields joined with "\n" (the trailing "\n" the
	// spec adds per line is removed). It is nil when Empty is set.
	Data []byte
	// ID is the value of this block's last valid "id:" field; HasID reports whether the
	// block had one. (Parser.LastEventID keeps the stream-wide value the spec describes.)
	ID    string
	HasID bool
	// Retry is the value of a valid "retry:" field in milliseconds, or -1 when absent.
	Retry int
	// Empty is set when the block had no "data:" field: comment-only keep-alives such as
	// ": ping\n\n", stray blank lines, or blocks with only event/id/retry fields. A
	// spec-conforming client does not dispatch such blocks (though it does apply their
	// id and retry), but a proxy must still forward Raw, so the Parser reports them.
	Empty bool
	// Raw is the exact input bytes of this block, including comment lines, a leading BOM
	// and the blank line that ended it. Forwarding every Raw in order reproduces the
	// stream byte for byte. When a CR ending the previous block was the last byte of a
	// chunk, the LF that followed it in the next chunk is the first byte of this Raw.
	Raw []byte
}

// NewEvent returns an event with the given name and data and no id or retry, for
// writing with AppendEvent. (A literal Event{} has Retry 0, which AppendEvent writes as
// "retry: 0"; -1 means absent.)
func NewEvent(name string, data []byte) *Event {
	return &Event{Name: name, Data: data, Retry: -1}
}

// Type returns the event type a browser would dispatch: Name, or "message" by default.
func (e *Event) Type() string {
	if e.Name == "" {
		return "message"
	}
	return e.Name
}

// Clone returns a deep copy of e that stays valid after the emit callback returns.
func (e *Event) Clone() *Event {
	c := *e
	if e.Data != nil {
		c.Data = bytes.Clone(e.Data)
	}
	c.Raw = bytes.Clone(e.Raw)
	return &c
}

// IsDone reports whether ev is the OpenAI end-of-stream sentinel "data: [DONE]".
// Surrounding white space is tolerated because some compatible servers add it.
func IsDone(ev *Event) bool {
	return !ev.Empty && string(bytes.TrimSpace(ev.Data)) == "[DONE]"
}

// AppendEvent appends the wire form of ev to dst and returns the extended slice:
// "event:", "id:" and "retry:" lines when set, one "data:" line per line of Data (unless
// Empty), then the blank line that ends the event. Raw is ignored.
//
// Line breaks inside Data (LF, CR or CRLF) start a new data line, so they come back as
// "\n" after parsing: SSE cannot carry a CR in data. CR, LF and NUL are dropped from Name
// and ID because they would end the field early (a field injection) or, for NUL, make a
// client ignore the id.
func AppendEvent(dst []byte, ev *Event) []byte {
	if ev.Name != "" {
		dst = append(dst, "event: "...)
		dst = appendField(dst, ev.Name)
		dst = append(dst, '\n')
	}
	if ev.HasID {
		dst = append(dst, "id: "...)
		dst = appendField(dst, ev.ID)
		dst = append(dst, '\n')
	}
	if ev.Retry >= 0 {
		dst = append(dst, "retry: "...)
		dst = strconv.AppendInt(dst, int64(ev.Retry), 10)
		dst = append(dst, '\n')
	}
	if !ev.Empty {
		data := ev.Data
		for {
			j := lineEnd(data)
			if j < 0 {
				dst = append(dst, "data: "...)
				dst = append(dst, data...)
				dst = append(dst, '\n')
				break
			}
			dst = append(dst, "data: "...)
			dst = append(dst, data[:j]...)
			dst = append(dst, '\n')
			if data[j] == '\r' && j+1 < len(data) && data[j+1] == '\n' {
				j++
			}
			data = data[j+1:]
		}
	}
	return append(dst, '\n')
}

// appendField appends s without the bytes that cannot appear inside a field value.
func appendField(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '\r' && c != '\n' && c != 0 {
			dst = append(dst, c)
		}
	}
	return dst
}

// lineEnd returns the index of the first CR or LF in b, or -1. It uses two IndexByte
// scans (vectorised by the runtime) rather than a byte loop, because lines of LLM streams
// are long JSON payloads and this is the parser's hot path.
func lineEnd(b []byte) int {
	n := bytes.IndexByte(b, '\n')
	s := b
	if n >= 0 {
		s = b[:n]
	}
	if r := bytes.IndexByte(s, '\r'); r >= 0 {
		return r
	}
	return n
}

// parseRetry parses a retry field value, which the spec allows only as ASCII digits.
// Values that do not fit an int32 are ignored rather than wrapped.
func parseRetry(v []byte) (int, bool) {
	if len(v) == 0 {
		return 0, false
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
		if n > 1<<31-1 {
			return 0, false
		}
	}
	return n, true
}

package sse

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// result is what a whole feed produced, with events copied out of the callback.
type result struct {
	events  []*Event
	pending []byte
	err     error
}

// feedChunks feeds the chunks in order and collects cloned events.
func feedChunks(p *Parser, chunks ...[]byte) result {
	var r result
	emit := func(ev *Event) error {
		r.events = append(r.events, ev.Clone())
		return nil
	}
	for _, c := range chunks {
		if err := p.Feed(c, emit); err != nil {
			r.err = err
			break
		}
	}
	r.pending = bytes.Clone(p.Pending())
	return r
}

// splitAt cuts b at the given (sorted, in-range) offsets.
func splitAt(b []byte, cuts ...int) [][]byte {
	var out [][]byte
	prev := 0
	for _, c := range cuts {
		out = append(out, b[prev:c])
		prev = c
	}
	return append(out, b[prev:])
}

// sameEvents reports the first difference between two event lists. Raw may differ by the
// LF of a CRLF pair split across chunks (see Event.Raw), so Raw is compared with one
// leading and one trailing LF removed; callers check the exact bytes via concatRaw.
func sameEvents(a, b []*Event) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d events vs %d", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Name != y.Name || !bytes.Equal(x.Data, y.Data) || x.ID != y.ID || x.HasID != y.HasID ||
			x.Retry != y.Retry || x.Empty != y.Empty {
			return fmt.Errorf("event %d: %+v vs %+v", i, x, y)
		}
		if !bytes.Equal(trimLF(x.Raw), trimLF(y.Raw)) {
			return fmt.Errorf("event %d raw: %q vs %q", i, x.Raw, y.Raw)
		}
	}
	return nil
}

func trimLF(b []byte) []byte {
	return bytes.TrimSuffix(bytes.TrimPrefix(b, []byte("\n")), []byte("\n"))
}

func concatRaw(r result) []byte {
	var out []byte
	for _, ev := range r.events {
		out = append(out, ev.Raw...)
	}
	return append(out, r.pending...)
}

// ev builds an expected event; Retry defaults to -1 via the helper below.
type want struct {
	name, data, id string
	hasID, empty   bool
	retry          int
	raw            string
}

func TestParserTable(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []want
		pending string
	}{
		{"simple", "data: hello\n\n", []want{{data: "hello", retry: -1, raw: "data: hello\n\n"}}, ""},
		{"no space after colon", "data:hello\n\n", []want{{data: "hello", retry: -1, raw: "data:hello\n\n"}}, ""},
		{"only one space stripped", "data:  two\n\n", []want{{data: " two", retry: -1, raw: "data:  two\n\n"}}, ""},
		{"multi-line data", "data: a\ndata: b\ndata\n\n", []want{{data: "a\nb\n", retry: -1, raw: "data: a\ndata: b\ndata\n\n"}}, ""},
		{"empty data field dispatches", "data\n\n", []want{{data: "", retry: -1, raw: "data\n\n"}}, ""},
		{"CRLF", "event: x\r\ndata: 1\r\n\r\n", []want{{name: "x", data: "1", retry: -1, raw: "event: x\r\ndata: 1\r\n\r\n"}}, ""},
		{"CR", "event: x\rdata: 1\r\r", []want{{name: "x", data: "1", retry: -1, raw: "event: x\rdata: 1\r\r"}}, ""},
		{"mixed endings", "data: a\r\ndata: b\rdata: c\n\r\n", []want{{data: "a\nb\nc", retry: -1, raw: "data: a\r\ndata: b\rdata: c\n\r\n"}}, ""},
		{"comment inside event", ": hi\ndata: x\n: there\n\n", []want{{data: "x", retry: -1, raw: ": hi\ndata: x\n: there\n\n"}}, ""},
		{"keep-alive comment is Empty", ": keep-alive\n\n", []want{{empty: true, retry: -1, raw: ": keep-alive\n\n"}}, ""},
		{"stray blank line is Empty", "\n", []want{{empty: true, retry: -1, raw: "\n"}}, ""},
		{"event name only is Empty", "event: ping\n\n", []want{{name: "ping", empty: true, retry: -1, raw: "event: ping\n\n"}}, ""},
		{"last event field wins", "event: a\nevent: b\ndata: 1\n\n", []want{{name: "b", data: "1", retry: -1, raw: "event: a\nevent: b\ndata: 1\n\n"}}, ""},
		{"event name reset between events", "event: a\ndata: 1\n\ndata: 2\n\n", []want{
			{name: "a", data: "1", retry: -1, raw: "event: a\ndata: 1\n\n"},
			{data: "2", retry: -1, raw: "data: 2\n\n"}}, ""},
		{"id and retry", "id: 7\nretry: 1500\ndata: x\n\n", []want{{data: "x", id: "7", hasID: true, retry: 1500, raw: "id: 7\nretry: 1500\ndata: x\n\n"}}, ""},
		{"empty id", "id\ndata: x\n\n", []want{{data: "x", hasID: true, retry: -1, raw: "id\ndata: x\n\n"}}, ""},
		{"id with NUL ignored", "id: a\x00b\ndata: x\n\n", []want{{data: "x", retry: -1, raw: "id: a\x00b\ndata: x\n\n"}}, ""},
		{"bad retry ignored", "retry: 12a\nretry: -1\nretry:\nretry: 99999999999\ndata: x\n\n", []want{{data: "x", retry: -1,
			raw: "retry: 12a\nretry: -1\nretry:\nretry: 99999999999\ndata: x\n\n"}}, ""},
		{"unknown field ignored", "foo: bar\ndata: x\n\n", []want{{data: "x", retry: -1, raw: "foo: bar\ndata: x\n\n"}}, ""},
		{"field name is case sensitive", "Data: x\n\n", []want{{empty: true, retry: -1, raw: "Data: x\n\n"}}, ""},
		{"colon in value", "data: a:b: c\n\n", []want{{data: "a:b: c", retry: -1, raw: "data: a:b: c\n\n"}}, ""},
		{"leading BOM", "\xEF\xBB\xBFdata: x\n\n", []want{{data: "x", retry: -1, raw: "\xEF\xBB\xBFdata: x\n\n"}}, ""},
		{"BOM then blank line", "\xEF\xBB\xBF\ndata: x\n\n", []want{{empty: true, retry: -1, raw: "\xEF\xBB\xBF\n"}, {data: "x", retry: -1, raw: "data: x\n\n"}}, ""},
		{"BOM only stripped once", "\xEF\xBB\xBFdata: x\n\n\xEF\xBB\xBFdata: y\n\n", []want{{data: "x", retry: -1, raw: "\xEF\xBB\xBFdata: x\n\n"},
			{empty: true, retry: -1, raw: "\xEF\xBB\xBFdata: y\n\n"}}, ""},
		{"unterminated tail pending", "data: a\n\ndata: b\n", []want{{data: "a", retry: -1, raw: "data: a\n\n"}}, "data: b\n"},
		{"unterminated line pending", "data: a", nil, "data: a"},
		{"OpenAI DONE", "data: [DONE]\n\n", []want{{data: "[DONE]", retry: -1, raw: "data: [DONE]\n\n"}}, ""},
		{"invalid UTF-8 passes through", "data: \xff\xfe\n\n", []want{{data: "\xff\xfe", retry: -1, raw: "data: \xff\xfe\n\n"}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			// Every way of cutting the input in up to two places must give the same result.
			var cutsList [][]int
			cutsList = append(cutsList, nil)
			for a := 1; a < len(in); a++ {
				cutsList = append(cutsList, []int{a})
				for b := a + 1; b < len(in); b++ {
					cutsList = append(cutsList, []int{a, b})
				}
			}
			for _, cuts := range cutsList {
				var p Parser
				r := feedChunks(&p, splitAt(in, cuts...)...)
				if r.err != nil {
					t.Fatalf("cuts %v: %v", cuts, r.err)
				}
				if len(r.events) != len(tc.want) {
					t.Fatalf("cuts %v: got %d events, want %d: %+v", cuts, len(r.events), len(tc.want), r.events)
				}
				for i, w := range tc.want {
					g := r.events[i]
					if g.Name != w.name || string(g.Data) != w.data || g.ID != w.id || g.HasID != w.hasID ||
						g.Empty != w.empty || g.Retry != w.retry {
						t.Fatalf("cuts %v: event %d = %+v (data %q), want %+v", cuts, i, g, g.Data, w)
					}
					if w.empty && g.Data != nil {
						t.Fatalf("cuts %v: Empty event has data %q", cuts, g.Data)
					}
					if !bytes.Equal(trimLF(g.Raw), trimLF([]byte(w.raw))) {
						t.Fatalf("cuts %v: event %d raw %q, want %q", cuts, i, g.Raw, w.raw)
					}
					if cuts == nil && string(g.Raw) != w.raw {
						t.Fatalf("whole: event %d raw %q, want %q", i, g.Raw, w.raw)
					}
				}
				// A split CRLF may leave its LF pending (it starts the next block's Raw).
				if string(trimLF(r.pending)) != string(trimLF([]byte(tc.pending))) || (cuts == nil && string(r.pending) != tc.pending) {
					t.Fatalf("cuts %v: pending %q, want %q", cuts, r.pending, tc.pending)
				}
				if !bytes.Equal(concatRaw(r), in) {
					t.Fatalf("cuts %v: raw+pending %q != input", cuts, concatRaw(r))
				}
			}
		})
	}
}

func TestSplitCRLF(t *testing.T) {
	// The CR ending a blank line is the last byte of a chunk: the event is dispatched at
	// once (no waiting for the next read) and the LF becomes the first byte of the next
	// block's Raw, where it is not mistaken for another blank line.
	var p Parser
	r := feedChunks(&p, []byte("data: a\r\n\r"), []byte("\ndata: b\r\n\r\n"))
	if r.err != nil || len(r.events) != 2 {
		t.Fatalf("got %+v", r)
	}
	if string(r.events[0].Raw) != "data: a\r\n\r" || string(r.events[1].Raw) != "\ndata: b\r\n\r\n" {
		t.Fatalf("raw %q %q", r.events[0].Raw, r.events[1].Raw)
	}
	if string(r.events[1].Data) != "b" || r.events[1].Empty {
		t.Fatalf("second event %+v", r.events[1])
	}
}

func TestLastEventID(t *testing.T) {
	var p Parser
	r := feedChunks(&p, []byte("id: 1\ndata: a\n\ndata: b\n\nid: 2\n\n"))
	if len(r.events) != 3 || r.events[1].HasID || p.LastEventID() != "2" {
		t.Fatalf("events %+v last %q", r.events, p.LastEventID())
	}
}

func TestMaxEventSize(t *testing.T) {
	in := []byte("data: ok\n\ndata: 0123456789\n\ndata: later\n\n")
	for cut := 0; cut <= len(in); cut++ {
		p := Parser{MaxEventSize: 12}
		r := feedChunks(&p, in[:cut], in[cut:])
		if !errors.Is(r.err, ErrEventTooLarge) {
			t.Fatalf("cut %d: err %v", cut, r.err)
		}
		if len(r.events) != 1 || string(r.events[0].Data) != "ok" {
			t.Fatalf("cut %d: events %+v", cut, r.events)
		}
		if len(p.Pending()) > 12 {
			t.Fatalf("cut %d: buffered %d bytes", cut, len(p.Pending()))
		}
		// Sticky until Reset.
		if err := p.Feed([]byte("data: x\n\n"), func(*Event) error { return nil }); !errors.Is(err, ErrEventTooLarge) {
			t.Fatalf("not sticky: %v", err)
		}
		p.Reset()
		if r := feedChunks(&p, []byte("data: x\n\n")); r.err != nil || len(r.events) != 1 {
			t.Fatalf("after Reset: %+v", r)
		}
	}
	// An endless line without a terminator is refused, not buffered.
	p := Parser{MaxEventSize: 1024}
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		err = p.Feed(bytes.Repeat([]byte("x"), 100), func(*Event) error { return nil })
	}
	if !errors.Is(err, ErrEventTooLarge) || len(p.Pending()) > 1024 {
		t.Fatalf("err %v pending %d", err, len(p.Pending()))
	}
}

func TestEmitError(t *testing.T) {
	var p Parser
	boom := errors.New("boom")
	n := 0
	err := p.Feed([]byte("data: 1\n\ndata: 2\n\n"), func(*Event) error { n++; return boom })
	if err != boom || n != 1 {
		t.Fatalf("err %v after %d events", err, n)
	}
	if err := p.Feed([]byte("data: 3\n\n"), func(*Event) error { t.Fatal("called"); return nil }); err != boom {
		t.Fatalf("not sticky: %v", err)
	}
}

func TestFlush(t *testing.T) {
	var p Parser
	r := feedChunks(&p, []byte("data: a\n\nevent: message_stop\ndata: {}"))
	if len(r.events) != 1 {
		t.Fatalf("events %+v", r.events)
	}
	var got []*Event
	if err := p.Flush(func(ev *Event) error { got = append(got, ev.Clone()); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "message_stop" || string(got[0].Data) != "{}" ||
		string(got[0].Raw) != "event: message_stop\ndata: {}" || len(p.Pending()) != 0 {
		t.Fatalf("flush gave %+v", got)
	}
	if err := p.Flush(func(*Event) error { t.Fatal("second flush emitted"); return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestIsDone(t *testing.T) {
	for in, done := range map[string]bool{
		"data: [DONE]\n\n":    true,
		"data: [DONE] \n\n":   true,
		"data: [DONE]x\n\n":   false,
		"data: {}\n\n":        false,
		": [DONE]\n\n":        false,
		"event: [DONE]\n\n":   false,
		"data:[DONE]\r\n\r\n": true,
	} {
		var p Parser
		r := feedChunks(&p, []byte(in))
		if len(r.events) != 1 || IsDone(r.events[0]) != done {
			t.Errorf("%q: IsDone != %v (%+v)", in, done, r.events)
		}
	}
}

func TestAppendEventRoundTrip(t *testing.T) {
	events := []*Event{
		{Data: []byte("hello"), Retry: -1},
		{Name: "content_block_delta", Data: []byte(`{"type":"x"}`), Retry: -1},
		{Data: []byte("a\nb\n\nc"), Retry: -1},
		{Data: []byte(""), Retry: -1},
		{Data: []byte("\n"), Retry: -1},
		{Data: []byte(" leading space"), Retry: -1},
		{Data: []byte(": not a comment"), Retry: -1},
		{Name: "e", ID: "42", HasID: true, Retry: 3000, Data: []byte("x")},
		{ID: "", HasID: true, Retry: -1, Data: []byte("x")},
		{Name: "ping", Empty: true, Retry: -1},
		{Empty: true, Retry: 10},
	}
	var wire []byte
	for _, ev := range events {
		wire = AppendEvent(wire, ev)
	}
	var p Parser
	r := feedChunks(&p, wire)
	if r.err != nil || len(r.events) != len(events) || len(r.pending) != 0 {
		t.Fatalf("got %+v from %q", r, wire)
	}
	for i, ev := range events {
		g := r.events[i]
		if g.Name != ev.Name || !bytes.Equal(g.Data, ev.Data) || g.ID != ev.ID || g.HasID != ev.HasID ||
			g.Retry != ev.Retry || g.Empty != ev.Empty {
			t.Errorf("event %d: got %+v want %+v", i, g, ev)
		}
		// Re-serialising the parsed event gives its Raw back.
		if again := AppendEvent(nil, g); !bytes.Equal(again, g.Raw) {
			t.Errorf("event %d: %q != %q", i, again, g.Raw)
		}
	}
}

func TestAppendEventSanitises(t *testing.T) {
	ev := &Event{Name: "a\r\ndata: injected", ID: "1\n2\x003", HasID: true, Data: []byte("x\r\ny\rz"), Retry: -1}
	wire := AppendEvent(nil, ev)
	want := "event: adata: injected\nid: 123\ndata: x\ndata: y\ndata: z\n\n"
	if string(wire) != want {
		t.Fatalf("got %q want %q", wire, want)
	}
	var p Parser
	r := feedChunks(&p, wire)
	if len(r.events) != 1 || string(r.events[0].Data) != "x\ny\nz" || r.events[0].ID != "123" {
		t.Fatalf("parsed %+v", r.events)
	}
}

func TestZeroAllocSteadyState(t *testing.T) {
	chunk := []byte("event: content_block_delta\ndata: {\"type\":\"content_block_delta\"}\n\n: ping\n\n")
	var p Parser
	emit := func(*Event) error { return nil }
	_ = p.Feed(chunk, emit)
	allocs := testing.AllocsPerRun(100, func() {
		_ = p.Feed(chunk[:10], emit)
		_ = p.Feed(chunk[10:], emit)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per event pair", allocs)
	}
}

func TestEventType(t *testing.T) {
	if (&Event{}).Type() != "message" || (&Event{Name: "x"}).Type() != "x" {
		t.Fatal("Type")
	}
	if !strings.HasPrefix(ErrEventTooLarge.Error(), "sse:") {
		t.Fatal("error prefix")
	}
}

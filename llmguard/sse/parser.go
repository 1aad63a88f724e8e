package sse

import "bytes"

var bom = []byte{0xEF, 0xBB, 0xBF}

// maxInternedName bounds the names kept by the name cache, so that the cache cannot pin
// large buffers in memory.
const maxInternedName = 64

// shrinkAbove is the buffer capacity above which the parser drops its buffers after an
// event: a gateway holds one parser per open stream, and one unusually large event must
// not keep megabytes alive for the rest of a long stream.
const shrinkAbove = 64 << 10

// Parser turns chunks of an event stream into Events. The zero value is ready to use
// with DefaultMaxEventSize. A Parser is not safe for concurrent use.
//
// Events that lie entirely inside one chunk are reported without copying (Raw points
// into the chunk); only the unfinished tail of a chunk is copied, so the parser holds at
// most one incomplete event (bounded by MaxEventSize) between calls.
type Parser struct {
	// MaxEventSize bounds the bytes of one event, comments and the unfinished tail
	// included. Zero or negative means DefaultMaxEventSize.
	MaxEventSize int

	buf       []byte // bytes of the incomplete event carried over from earlier chunks
	lineStart int    // offset in buf of the current, unfinished line
	pendingCR bool   // the last byte seen was a CR ending a line; a following LF belongs to it
	started   bool   // the first line has been seen (a BOM is only stripped there)
	err       error  // sticky: set by ErrEventTooLarge or a failing emit callback

	// fields of the event being built
	name     []byte
	data     []byte
	hasData  bool
	id       []byte
	hasID    bool
	retry    int
	hasRetry bool

	lastID   string
	names    [16]string // recent event names, so that repeated names do not allocate
	nNames   int
	nextName int
	ev       Event
}

func (p *Parser) max() int {
	if p.MaxEventSize > 0 {
		return p.MaxEventSize
	}
	return DefaultMaxEventSize
}

// Feed parses chunk and calls emit for every event completed by it, in order. emit gets
// a reused *Event that is only valid during the call (see Event).
//
// Feed returns ErrEventTooLarge as soon as the current event exceeds MaxEventSize, or the
// first error returned by emit; the rest of the chunk is then not parsed. Errors are
// sticky: later calls return the same error until Reset, because the parser no longer
// knows where the next event starts.
func (p *Parser) Feed(chunk []byte, emit func(*Event) error) error {
	if p.err != nil {
		return p.err
	}
	limit := p.max()
	carried := len(p.buf) > 0 // the current event started in an earlier chunk (it is in buf)
	evStart := 0              // start of the current event in chunk when !carried
	i := 0
	for i < len(chunk) {
		if p.pendingCR {
			p.pendingCR = false
			if chunk[i] == '\n' {
				// The second half of a CRLF split across chunks: not a new (blank) line.
				i++
				if carried {
					p.buf = append(p.buf, '\n')
					p.lineStart = len(p.buf)
				}
				continue
			}
		}
		j := lineEnd(chunk[i:])
		if j < 0 {
			break
		}
		end := i + j // end of the line's content
		next := end + 1
		if chunk[end] == '\r' {
			if next < len(chunk) {
				if chunk[next] == '\n' {
					next++
				}
			} else {
				p.pendingCR = true
			}
		}
		var line []byte
		if carried {
			if len(p.buf)+next-i > limit {
				return p.fail(ErrEventTooLarge)
			}
			p.buf = append(p.buf, chunk[i:next]...)
			line = p.buf[p.lineStart : len(p.buf)-(next-end)]
			p.lineStart = len(p.buf)
		} else {
			if next-evStart > limit {
				return p.fail(ErrEventTooLarge)
			}
			line = chunk[i:end]
		}
		i = next
		if !p.started {
			p.started = true
			line = bytes.TrimPrefix(line, bom)
		}
		if len(line) > 0 {
			p.processLine(line)
			continue
		}
		// A blank line ends the event.
		raw := chunk[evStart:i]
		if carried {
			raw = p.buf
		}
		if err := p.dispatch(raw, emit); err != nil {
			return p.fail(err)
		}
		if carried {
			p.dropBuf()
			carried = false
		}
		evStart = i
	}
	// Keep the unfinished tail for the next call.
	if carried {
		if len(p.buf)+len(chunk)-i > limit {
			return p.fail(ErrEventTooLarge)
		}
		p.buf = append(p.buf, chunk[i:]...)
	} else if evStart < len(chunk) {
		if len(chunk)-evStart > limit {
			return p.fail(ErrEventTooLarge)
		}
		p.buf = append(p.buf[:0], chunk[evStart:]...)
		p.lineStart = i - evStart
	}
	return nil
}

// Flush ends the stream: if bytes of an unfinished event are pending (a stream that
// ends without the final blank line, as some servers and recordings do), their last
// line is parsed as if terminated and the event is emitted with Raw = Pending(). The
// spec says to discard such an event; a gateway still wants to account for it (the
// Anthropic "message_stop" of a truncated recording, for example) and to forward its
// bytes. Flush does nothing when nothing is pending.
func (p *Parser) Flush(emit func(*Event) error) error {
	if p.err != nil {
		return p.err
	}
	p.pendingCR = false
	if len(p.buf) == 0 {
		return nil
	}
	line := p.buf[p.lineStart:]
	if !p.started {
		p.started = true
		line = bytes.TrimPrefix(line, bom)
	}
	if len(line) > 0 {
		p.processLine(line)
	}
	err := p.dispatch(p.buf, emit)
	p.dropBuf()
	if err != nil {
		return p.fail(err)
	}
	return nil
}

// Pending returns the bytes received but not yet part of a complete event, so that a
// proxy can pass them through when the upstream ends. The slice is only valid until the
// next call to the parser.
func (p *Parser) Pending() []byte { return p.buf }

// LastEventID returns the stream's last event ID buffer as the spec defines it: the
// value of the most recent valid "id:" field of any dispatched block.
func (p *Parser) LastEventID() string { return p.lastID }

// Reset makes the parser ready for a new stream, clearing a sticky error. MaxEventSize
// is kept.
func (p *Parser) Reset() {
	*p = Parser{
		MaxEventSize: p.MaxEventSize,
		buf:          p.buf[:0],
		name:         p.name[:0],
		data:         p.data[:0],
		id:           p.id[:0],
	}
}

func (p *Parser) fail(err error) error {
	p.err = err
	return err
}

func (p *Parser) dropBuf() {
	if cap(p.buf) > shrinkAbove {
		p.buf = nil
	} else {
		p.buf = p.buf[:0]
	}
	p.lineStart = 0
}

// processLine applies one non-blank line to the event being built.
func (p *Parser) processLine(line []byte) {
	if line[0] == ':' {
		return // comment
	}
	field, value := line, []byte(nil)
	if c := bytes.IndexByte(line, ':'); c >= 0 {
		field, value = line[:c], line[c+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(field) { // the compiler does not allocate for this conversion
	case "event":
		p.name = append(p.name[:0], value...)
	case "data":
		p.data = append(p.data, value...)
		p.data = append(p.data, '\n')
		p.hasData = true
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			p.id = append(p.id[:0], value...)
			p.hasID = true
		}
	case "retry":
		if n, ok := parseRetry(value); ok {
			p.retry, p.hasRetry = n, true
		}
	}
}

// dispatch fills the shared Event from the fields collected since the last blank line,
// clears them, and calls emit.
func (p *Parser) dispatch(raw []byte, emit func(*Event) error) error {
	ev := &p.ev
	ev.Raw = raw
	ev.Empty = !p.hasData
	ev.Data = nil
	if p.hasData {
		ev.Data = p.data[:len(p.data)-1]
	}
	ev.Name = p.intern(p.name)
	ev.HasID = p.hasID
	ev.ID = ""
	if p.hasID {
		if string(p.id) != p.lastID {
			p.lastID = string(p.id)
		}
		ev.ID = p.lastID
	}
	ev.Retry = -1
	if p.hasRetry {
		ev.Retry = p.retry
	}
	// Clear the builder before emit; ev.Data still points into p.data, which is not
	// written again until the next line is parsed (after emit returns).
	p.name = p.name[:0]
	p.data = p.data[:0]
	p.id = p.id[:0]
	p.hasData, p.hasID, p.hasRetry = false, false, false
	err := emit(ev)
	ev.Raw, ev.Data = nil, nil // do not let the shared Event pin the caller's chunk
	if cap(p.data) > shrinkAbove {
		p.data = nil
	}
	return err
}

// intern returns a string for an event name, reusing one of the recent names so that
// streams that repeat the same few names ("content_block_delta", ...) do not allocate.
func (p *Parser) intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	for _, s := range p.names[:p.nNames] {
		if string(b) == s {
			return s
		}
	}
	s := string(b)
	if len(s) > maxInternedName {
		return s
	}
	if p.nNames < len(p.names) {
		p.names[p.nNames] = s
		p.nNames++
	} else {
		p.names[p.nextName] = s
		p.nextName = (p.nextName + 1) % len(p.names)
	}
	return s
}

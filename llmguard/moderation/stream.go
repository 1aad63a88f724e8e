package moderation

import (
	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/sse"
)

// DefaultWindow is the default amount of generated text, in bytes, classified at once in
// a stream (about 100 tokens).
const DefaultWindow = 400

// Classify returns the decision for a text, or an error when the classifier could not
// answer.
type Classify func(text string) (Decision, error)

// Stream moderates one SSE response. It holds every event back until the generated text
// it carries has been classified: once Window bytes of new text are held (or the stream
// ends), the held text is classified together with the previous window as context, so a
// passage shorter than a window is always seen whole by one call. Clean: the held events
// are released unchanged. Flagged with a block action (or the classifier failed and
// FailOpen is false): the held events are discarded and the stream ends with the API's
// error event, so the client has seen only text that was classified clean. It is not
// safe for concurrent use.
type Stream struct {
	Kind     request.Kind
	Window   int
	Classify Classify
	FailOpen bool

	// Decision accumulates the hits of every window; Failed counts classifier failures.
	Decision Decision
	Failed   int
	// Calls counts classifier calls.
	Calls int

	held    []byte // raw events not yet released
	text    []byte // their generated text
	context []byte // the previous window's text
	parser  sse.Parser
	ended   bool
	cutErr  bool // ended because the classifier failed (fail closed)
}

// Held returns the number of event bytes held back.
func (s *Stream) Held() int { return len(s.held) }

// Ended reports whether the stream was cut; Unavailable whether because the classifier
// failed.
func (s *Stream) Ended() bool       { return s.ended }
func (s *Stream) Unavailable() bool { return s.cutErr }

// Write takes the bytes planned for one upstream event (possibly several events an
// earlier filter produced) and returns the bytes to forward now. ok = false means the
// stream must be cut here: the caller sends the error event.
func (s *Stream) Write(out []byte) (release []byte, ok bool) {
	if s.ended {
		return nil, false
	}
	s.held = append(s.held, out...)
	final := false
	_ = s.parser.Feed(out, func(ev *sse.Event) error {
		if sse.IsDone(ev) {
			final = true
		} else {
			s.text = append(s.text, EventText(s.Kind, ev.Data)...)
		}
		return nil
	})
	if !final && len(s.text) == 0 {
		// Nothing generated is held (the role event, empty deltas, usage): nothing to
		// classify, so nothing to hold back — the client sees the stream start at once.
		out := s.held
		s.held = nil
		return out, true
	}
	if !final && len(s.text) < s.window() {
		return nil, true
	}
	return s.check()
}

// Close classifies and returns what is still held at the end of the stream (tail are the
// bytes a filter flushed at the end).
func (s *Stream) Close(tail []byte) ([]byte, bool) {
	if s.ended {
		return nil, false
	}
	if len(tail) > 0 {
		s.held = append(s.held, tail...)
		_ = s.parser.Feed(tail, func(ev *sse.Event) error {
			s.text = append(s.text, EventText(s.Kind, ev.Data)...)
			return nil
		})
	}
	return s.check()
}

func (s *Stream) window() int {
	if s.Window > 0 {
		return s.Window
	}
	return DefaultWindow
}

// check classifies the held text and releases or cuts.
func (s *Stream) check() ([]byte, bool) {
	if len(s.text) > 0 {
		s.Calls++
		d, err := s.Classify(string(s.context) + string(s.text))
		switch {
		case err != nil:
			s.Failed++
			if !s.FailOpen {
				s.ended, s.cutErr = true, true
				s.held = nil
				return nil, false
			}
		default:
			s.merge(d)
			if d.Block {
				s.ended = true
				s.held = nil
				return nil, false
			}
		}
		s.context = append(s.context[:0], s.text...)
		s.text = s.text[:0]
	}
	out := s.held
	s.held = nil
	return out, true
}

func (s *Stream) merge(d Decision) {
	for _, h := range d.Hits {
		found := false
		for i, g := range s.Decision.Hits {
			if g.Category == h.Category {
				s.Decision.Hits[i].Score = max(g.Score, h.Score)
				found = true
			}
		}
		if !found {
			s.Decision.Hits = append(s.Decision.Hits, h)
		}
	}
	s.Decision.Block = s.Decision.Block || d.Block
}

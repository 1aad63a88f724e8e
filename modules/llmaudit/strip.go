package llmaudit

import (
	"bytes"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/llmguard/caddy-llmguard/llmguard/audit"
)

// maxStripBody bounds the JSON response held back to strip fields from. A larger body is
// forwarded unchanged (and the fields with it) rather than buffered without limit.
const maxStripBody = 4 << 20

// stripWriter removes top-level fields from JSON responses. It has to hold the body back
// until it is complete (a field can be anywhere in it), so it only does so for
// non-streamed, uncompressed JSON with a success status; everything else passes through
// as it comes.
type stripWriter struct {
	http.ResponseWriter
	fields  map[string]bool
	status  int
	holding bool
	passing bool
	buf     bytes.Buffer
}

func newStripWriter(w http.ResponseWriter, fields map[string]bool) *stripWriter {
	return &stripWriter{ResponseWriter: w, fields: fields}
}

func (s *stripWriter) WriteHeader(status int) {
	if s.holding || s.passing {
		return
	}
	if status < 200 {
		s.ResponseWriter.WriteHeader(status)
		return
	}
	h := s.Header()
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	enc := h.Get("Content-Encoding")
	if status < 300 && (mt == "application/json" || strings.HasSuffix(mt, "+json")) && (enc == "" || enc == "identity") {
		s.holding, s.status = true, status
		return
	}
	s.passing = true
	s.ResponseWriter.WriteHeader(status)
}

func (s *stripWriter) Write(p []byte) (int, error) {
	if !s.holding && !s.passing {
		s.WriteHeader(http.StatusOK)
	}
	if s.passing {
		return s.ResponseWriter.Write(p)
	}
	if s.buf.Len()+len(p) > maxStripBody {
		// Too large to hold: give up on stripping and forward what we have.
		if err := s.release(s.buf.Bytes()); err != nil {
			return 0, err
		}
		return s.ResponseWriter.Write(p)
	}
	return s.buf.Write(p)
}

// release sends the held header and body and switches to passing through.
func (s *stripWriter) release(body []byte) error {
	s.holding, s.passing = false, true
	s.ResponseWriter.WriteHeader(s.status)
	_, err := s.ResponseWriter.Write(body)
	return err
}

// finish strips and sends a held body; the handler calls it after next returns.
func (s *stripWriter) finish() error {
	if !s.holding {
		return nil
	}
	out, removed, _ := audit.DeleteFields(s.buf.Bytes(), s.fields)
	if len(removed) > 0 {
		s.Header().Set("Content-Length", strconv.Itoa(len(out)))
	}
	return s.release(out)
}

// Flush is deferred while the body is held: flushing would send the header early.
func (s *stripWriter) Flush() { _ = s.FlushError() }

// FlushError implements the interface http.ResponseController uses.
func (s *stripWriter) FlushError() error {
	if s.holding {
		return nil
	}
	return http.NewResponseController(s.ResponseWriter).Flush()
}

// Unwrap returns the underlying ResponseWriter, for http.ResponseController.
func (s *stripWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

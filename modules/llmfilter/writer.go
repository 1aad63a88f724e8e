package llmfilter

import (
	"bytes"
	"mime"
	"net/http"
	"strings"
)

// jsonBuffer holds back a successful, uncompressed JSON response body (up to max bytes)
// so that it can be scanned and rewritten as a whole; everything else — streams, errors,
// other content — passes straight through to the response tap. A successful response
// the filter cannot read (compressed, or JSON over max) passes through unmodified and is
// counted in unreadable, or, with refuse set (on_error block), is discarded so that the
// handler can send an error instead.
type jsonBuffer struct {
	http.ResponseWriter
	max         int64
	refuse      bool
	status      int
	wroteHeader bool
	buffering   bool
	discarding  bool
	unreadable  int
	buf         bytes.Buffer
}

// WriteHeader implements http.ResponseWriter.
func (j *jsonBuffer) WriteHeader(status int) {
	if j.wroteHeader {
		return
	}
	if status < 200 {
		j.ResponseWriter.WriteHeader(status)
		return
	}
	j.wroteHeader, j.status = true, status
	h := j.Header()
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	enc := h.Get("Content-Encoding")
	if status/100 == 2 && (mt == "application/json" || strings.HasSuffix(mt, "+json")) && (enc == "" || strings.EqualFold(enc, "identity")) {
		j.buffering = true
		return // the header waits for the filtered body's length
	}
	if status/100 == 2 && enc != "" && !strings.EqualFold(enc, "identity") {
		j.unreadable++
		if j.discarding = j.refuse; j.discarding {
			return
		}
	}
	j.ResponseWriter.WriteHeader(status)
}

// Write implements http.ResponseWriter.
func (j *jsonBuffer) Write(p []byte) (int, error) {
	if !j.wroteHeader {
		j.WriteHeader(http.StatusOK)
	}
	if j.discarding {
		return len(p), nil
	}
	if !j.buffering {
		return j.ResponseWriter.Write(p)
	}
	if int64(j.buf.Len()+len(p)) > j.max {
		j.unreadable++
		j.buffering = false
		if j.discarding = j.refuse; j.discarding {
			j.buf = bytes.Buffer{}
			return len(p), nil
		}
		j.ResponseWriter.WriteHeader(j.status)
		if _, err := j.ResponseWriter.Write(j.buf.Bytes()); err != nil {
			return 0, err
		}
		j.buf = bytes.Buffer{}
		return j.ResponseWriter.Write(p)
	}
	return j.buf.Write(p)
}

// FlushError flushes the underlying writer; a held JSON body has nothing to flush.
func (j *jsonBuffer) FlushError() error {
	if j.buffering || j.discarding || !j.wroteHeader {
		return nil
	}
	//nolint:bodyclose
	return http.NewResponseController(j.ResponseWriter).Flush()
}

// Flush implements http.Flusher.
func (j *jsonBuffer) Flush() { _ = j.FlushError() }

// Unwrap returns the underlying ResponseWriter, for http.ResponseController.
func (j *jsonBuffer) Unwrap() http.ResponseWriter { return j.ResponseWriter }

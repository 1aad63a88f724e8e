package apierr

import (
	"bytes"
	"strconv"
)

// netHTTPErrorHeaders are the only headers of the responses Go's net/http server writes
// by itself, on the connection, when it cannot read a request (net/http.(*conn).serve):
// 431 for a request line and headers over the server's limit, 400 for a malformed
// request. No handler runs for them, so Caddy's error routes never see them.
const netHTTPErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// ConnError recognises p as one complete such response — "HTTP/1.1 <code> <text>", those
// headers, and a body that repeats "<code> <text>" — for a 4xx status, and returns the
// same refusal as JSON in place of the text/plain one. Anything else, including every
// response a handler writes (net/http adds Date to those, Caddy adds Server), is not
// recognised, and the caller forwards it byte for byte.
//
// The body carries both APIs' shapes at once — OpenAI's error object with its code and
// param inside Anthropic's {"type":"error","error":{…}} — because the request that
// failed could not be read, so which API it called is unknown; for the statuses
// recognised both APIs name the error type invalid_request_error.
func ConnError(p []byte) ([]byte, bool) {
	rest, ok := bytes.CutPrefix(p, []byte("HTTP/1.1 "))
	if !ok {
		return nil, false
	}
	status, body, ok := bytes.Cut(rest, []byte(netHTTPErrorHeaders))
	if !ok || !bytes.Equal(status, body) || len(status) < 5 || status[3] != ' ' || bytes.ContainsAny(status, "\r\n") {
		return nil, false
	}
	code, err := strconv.Atoi(string(status[:3]))
	if err != nil || code < 400 || code > 499 || openAIType(code) != anthropicType(code) {
		return nil, false
	}
	e := Failure(code, nil)
	js := e.Body(false)
	// {"error":{…}} → {"type":"error","error":{…}}: the OpenAI object already holds a
	// "type" (invalid_request_error), which Anthropic's SDKs read as the error type.
	js = append([]byte(`{"type":"error",`), js[1:]...)
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 ")
	b.Write(status)
	b.WriteString("\r\nContent-Type: application/json\r\nConnection: close\r\nCache-Control: no-store\r\nX-Should-Retry: false\r\nContent-Length: ")
	b.WriteString(strconv.Itoa(len(js)))
	b.WriteString("\r\n\r\n")
	b.Write(js)
	return b.Bytes(), true
}

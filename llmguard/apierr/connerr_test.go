package apierr

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// The responses Go's net/http writes itself (net/http.(*conn).serve), byte for byte.
const (
	net431  = "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large"
	net400  = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request"
	netHost = "HTTP/1.1 400 Bad Request: missing required Host header\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request: missing required Host header"
	net501  = "HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nUnsupported transfer encoding"
)

// checkJSONError parses out as a complete HTTP response with status and a JSON body
// that both SDKs read as an error: OpenAI's error.message/type/code and Anthropic's
// type "error" with error.type/message.
func checkJSONError(t *testing.T, out []byte, status int) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
	if err != nil {
		t.Fatalf("not an HTTP response: %v\n%q", err, out)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != status || resp.Header.Get("Content-Type") != "application/json" || !resp.Close {
		t.Fatalf("status %d, headers %v, body %q, %v", resp.StatusCode, resp.Header, body, err)
	}
	var b struct {
		Type  string
		Error struct{ Message, Type, Code string }
	}
	if err := json.Unmarshal(body, &b); err != nil || b.Type != "error" || b.Error.Type != "invalid_request_error" || b.Error.Message == "" || b.Error.Code == "" {
		t.Fatalf("body %s (%v)", body, err)
	}
}

func TestConnError(t *testing.T) {
	for _, tc := range []struct {
		in     string
		status int
		code   string
	}{
		{net431, 431, "request_headers_too_large"},
		{net400, 400, "invalid_request"},
		{netHost, 400, "invalid_request"},
	} {
		out, ok := ConnError([]byte(tc.in))
		if !ok {
			t.Fatalf("%q not recognised", tc.in)
		}
		checkJSONError(t, out, tc.status)
		if !bytes.Contains(out, []byte(`"code":"`+tc.code+`"`)) {
			t.Errorf("code: %s", out)
		}
	}
	for name, in := range map[string]string{
		"501 (not a request error)":  net501,
		"a handler's response":       strings.Replace(net431, "Connection: close\r\n", "Connection: close\r\nDate: Thu, 03 Dec 2026 13:00:00 GMT\r\n", 1),
		"body differs":               net431 + "x",
		"two writes' worth":          net431 + net400,
		"truncated":                  net431[:len(net431)-1],
		"HTTP/1.0":                   strings.Replace(net400, "HTTP/1.1", "HTTP/1.0", 1),
		"5xx":                        strings.ReplaceAll(net400, "400 Bad Request", "500 Internal Server Error"),
		"status without text":        "HTTP/1.1 400" + netHTTPErrorHeaders + "400",
		"status text with a newline": "HTTP/1.1 400 Bad\nRequest" + netHTTPErrorHeaders + "400 Bad\nRequest",
		"body bytes of a stream":     "data: " + net431,
	} {
		if out, ok := ConnError([]byte(in)); ok {
			t.Errorf("%s: rewritten to %q", name, out)
		}
	}
}

// FuzzConnError: whatever is recognised is exactly one of net/http's own error
// responses for a 4xx status, and becomes a complete JSON error response with that
// status; nothing else is touched.
func FuzzConnError(f *testing.F) {
	for _, s := range []string{net431, net400, netHost, net501, "HTTP/1.1 200 OK\r\n\r\n", "HTTP/1.1 413 Request Entity Too Large" + netHTTPErrorHeaders + "413 Request Entity Too Large"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		out, ok := ConnError(p)
		if !ok {
			if out != nil {
				t.Fatal("output without recognition")
			}
			return
		}
		rest := strings.TrimPrefix(string(p), "HTTP/1.1 ")
		status, _, _ := strings.Cut(rest, "\r\n")
		if string(p) != "HTTP/1.1 "+status+netHTTPErrorHeaders+status {
			t.Fatalf("recognised a response net/http does not write: %q", p)
		}
		code := int(status[0]-'0')*100 + int(status[1]-'0')*10 + int(status[2]-'0')
		if code < 400 || code > 499 {
			t.Fatalf("rewrote status %d", code)
		}
		checkJSONError(t, out, code)
	})
}
